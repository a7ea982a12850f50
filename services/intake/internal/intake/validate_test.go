package intake

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/reference"
)

var now = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func goodOrder() WorkOrder {
	return WorkOrder{
		HotlineOrderNo: "SH12345-20261122-0001",
		ReceivedAt:     now.Add(-time.Minute),
		AppealType:     reference.Complaint,
		Title:          "噪声扰民",
		Content:        "共和新路1234弄门口烧烤摊夜间噪声扰民。",
		CallerPhone:    "13812345678",
		Urgency:        reference.Normal,
	}
}

func TestValidateWorkOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*WorkOrder)
		want   []string // fields with violations
	}{
		{"valid", func(*WorkOrder) {}, nil},
		{"landline", func(w *WorkOrder) { w.CallerPhone = "021-56781234" }, nil},
		{"plus86 mobile", func(w *WorkOrder) { w.CallerPhone = "+86 13812345678" }, nil},
		{"no order number", func(w *WorkOrder) { w.HotlineOrderNo = "" }, []string{"work_order.hotline_order_no"}},
		{"order number too long", func(w *WorkOrder) { w.HotlineOrderNo = strings.Repeat("9", 65) }, []string{"work_order.hotline_order_no"}},
		{"order number with space", func(w *WorkOrder) { w.HotlineOrderNo = "a b" }, []string{"work_order.hotline_order_no"}},
		{"no time", func(w *WorkOrder) { w.ReceivedAt = time.Time{} }, []string{"work_order.received_at"}},
		{"future", func(w *WorkOrder) { w.ReceivedAt = now.Add(time.Hour) }, []string{"work_order.received_at"}},
		{"small skew ok", func(w *WorkOrder) { w.ReceivedAt = now.Add(time.Minute) }, nil},
		{"ancient", func(w *WorkOrder) { w.ReceivedAt = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"work_order.received_at"}},
		{"no appeal type", func(w *WorkOrder) { w.AppealType = "" }, []string{"work_order.appeal_type"}},
		{"unknown appeal type", func(w *WorkOrder) { w.AppealType = "enum#99" }, []string{"work_order.appeal_type"}},
		{"unknown urgency", func(w *WorkOrder) { w.Urgency = "enum#7" }, []string{"work_order.urgency"}},
		{"empty content", func(w *WorkOrder) { w.Content = "" }, []string{"work_order.content"}},
		{"content at limit", func(w *WorkOrder) { w.Content = strings.Repeat("噪", MaxTextRunes) }, nil},
		{"content over limit", func(w *WorkOrder) { w.Content = strings.Repeat("噪", MaxTextRunes+1) }, []string{"work_order.content"}},
		{"invalid utf8", func(w *WorkOrder) { w.Content = "ok\xffno" }, []string{"work_order.content"}},
		{"control char", func(w *WorkOrder) { w.Title = "a\x07b" }, []string{"work_order.title"}},
		{"newlines ok", func(w *WorkOrder) { w.Content = "第一行\n第二行\r\n\t第三行" }, nil},
		{"replacement character ok", func(w *WorkOrder) { w.Content = "乱码\uFFFD照登" }, nil},
		{"line separator", func(w *WorkOrder) { w.Content = "a\u2028b" }, []string{"work_order.content"}},
		{"bad phone", func(w *WorkOrder) { w.CallerPhone = "12345abc" }, []string{"work_order.caller_phone"}},
		{"short phone ok", func(w *WorkOrder) { w.CallerPhone = "12345678" }, nil},
		{"mobile wrong prefix", func(w *WorkOrder) { w.CallerPhone = "12812345678" }, []string{"work_order.caller_phone"}},
		{"no phone needs no_callback", func(w *WorkOrder) { w.CallerPhone = "" }, []string{"work_order.caller_phone"}},
		{"no phone, no callback", func(w *WorkOrder) { w.CallerPhone, w.NoCallback = "", true }, nil},
		{"lat out of range", func(w *WorkOrder) { w.Location = &LatLng{Lat: 91, Lng: 121, Datum: WGS84} }, []string{"work_order.location.lat"}},
		{"no datum", func(w *WorkOrder) { w.Location = &LatLng{Lat: 31.2, Lng: 121.4} }, []string{"work_order.location.datum"}},
		{"answered needs consultation", func(w *WorkOrder) { w.AnsweredOnCall, w.Answer = true, "已答复" }, []string{"work_order.answered_on_call"}},
		{"answered needs answer", func(w *WorkOrder) { w.AppealType, w.AnsweredOnCall = reference.Consultation, true }, []string{"work_order.answer"}},
		{"answer without answered", func(w *WorkOrder) { w.Answer = "x" }, []string{"work_order.answer"}},
		{"attachment without scheme", func(w *WorkOrder) { w.Attachments = []Attachment{{URI: "photo.jpg"}} }, []string{"work_order.attachments[0].uri"}},
		{"several at once", func(w *WorkOrder) { w.Content, w.CallerPhone = "", "x" }, []string{"work_order.content", "work_order.caller_phone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wo := goodOrder()
			tt.mutate(&wo)
			normaliseWorkOrder(&wo)
			var v fault.Violations
			validateWorkOrder(&wo, now, &v)
			var got []string
			for _, x := range v {
				got = append(got, x.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations mismatch (-want +got):\n%s\n%v", diff, v)
			}
		})
	}
}

func FuzzValidateWorkOrder(f *testing.F) {
	f.Add("SH-1", "噪声", "13812345678", "共和新路1234弄")
	f.Add("", "\xff", "+86 021-5678 1234", "")
	f.Fuzz(func(t *testing.T, no, content, phone, addr string) {
		wo := goodOrder()
		wo.HotlineOrderNo, wo.Content, wo.CallerPhone, wo.Address = no, content, phone, addr
		normaliseWorkOrder(&wo)
		var v fault.Violations
		validateWorkOrder(&wo, now, &v) // must not panic
		for _, x := range v {
			if x.Field == "" || x.Reason == "" {
				t.Fatalf("empty violation %+v", x)
			}
		}
	})
}

// checkText reports one problem per text, the encoding first, then the
// length, then the first control character.
func TestCheckTextReportsTheFirstProblem(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"a\x07b\xff", "is not valid UTF-8"},
		{strings.Repeat("噪", 11) + "\x07", "is 12 characters long; at most 10"},
		{"a\x07b\x1b", "contains control character U+0007"},
		{"\uFEFF标题", "contains control character U+FEFF"},
		{"正常\uFFFD", ""},
	} {
		var v fault.Violations
		freetext.Check("f", tt.text, 10, true, &v)
		got := ""
		if len(v) > 0 {
			got = v[0].Reason
		}
		if got != tt.want || len(v) > 1 {
			t.Errorf("freetext.Check(%q) = %v, want %q", tt.text, v, tt.want)
		}
	}
}
