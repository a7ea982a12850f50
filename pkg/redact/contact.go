package redact

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/address"
)

// The masked forms of a caller's contact, as DESIGN.md ("Who may see and do
// what") shows them to everyone outside its exceptions: on NATS, in logs,
// in exports and in every read RPC. The clear contact stays in intake's
// table and leaves it only through the audited contact read. Every function
// here is idempotent (masking a masked value changes nothing), so a value
// may be masked at each boundary it crosses without knowing whether an
// earlier one did.

// nameStars replaces everything after the surname, whatever its length:
// the masked form does not tell 王明 from 王小明.
const nameStars = "**"

// Name keeps a name's first character (the surname, 王小明 → 王**) and
// hides the rest behind two stars; a name of one character is masked the
// same way (王 → 王**), so the length is never told. Empty stays empty.
// A compound surname (欧阳) keeps only its first character: the mask errs
// on the side of showing less.
func Name(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(name)
	return string(r) + nameStars
}

// Phone masks a phone number given in a field of its own: 13812345678 →
// 138****5678, 021-62345678 → 021-****5678 (Phones' rule). A value that is
// not a number Phones recognises still keeps only its last four digits
// (12345 → *2345; three or fewer digits are all starred); a value that
// already holds a star is taken as masked and returned as it is.
func Phone(phone string) string {
	phone = strings.TrimSpace(phone)
	if phone == "" || strings.ContainsRune(phone, '*') {
		return phone
	}
	if loc := phoneRE.FindStringIndex(phone); loc != nil && loc[0] == 0 && loc[1] == len(phone) {
		return maskDigits(phone)
	}
	digits := 0
	for i := 0; i < len(phone); i++ {
		if isDigit(phone[i]) {
			digits++
		}
	}
	keep := 4
	if digits <= keep {
		keep = 0
	}
	out := []byte(phone)
	starTo(out, digits-keep)
	return string(out)
}

// Text masks the phone numbers typed inside free text (a complaint that
// says "请回电13812345678"): Phones.
func Text(text string) string { return Phones(text) }

// AnonymousAddress is the address of an anonymous caller as others see it:
// it stops at the road and lane (and the compound), so the exact house —
// number, building, room, the shop named at it — is not told. Raw, the text
// as typed, is replaced by the parts kept, and Key by its district|place|lane
// part (the number and shop fields emptied), so two anonymous reports of one
// lane still share a key.
func AnonymousAddress(r address.Record) address.Record {
	out := address.Record{District: r.District, Street: r.Street, Road: r.Road, Lane: r.Lane, Compound: r.Compound}
	var b strings.Builder
	b.WriteString(r.District)
	b.WriteString(r.Street)
	switch {
	case r.Road != "":
		b.WriteString(r.Road)
		if r.Lane > 0 {
			b.WriteString(strconv.Itoa(r.Lane))
			b.WriteString("弄")
		}
	case r.Compound != "":
		b.WriteString(r.Compound)
	}
	out.Raw = b.String()
	if r.Key != "" {
		parts := strings.Split(r.Key, "|")
		if len(parts) >= 3 {
			out.Key = strings.Join(parts[:3], "|") + "||"
		}
	}
	return out
}

// pointDecimals is how finely an anonymous caller's point is kept: three
// decimals of a degree, about 110 m north–south in Shanghai — a block, not
// a house.
const pointDecimals = 3

// AnonymousPoint coarsens a point of an anonymous caller's report to about
// a block (three decimals of a degree), as AnonymousAddress does the house
// number. Rounding a rounded point changes nothing.
func AnonymousPoint(lat, lng float64) (float64, float64) {
	f := math.Pow10(pointDecimals)
	return math.Round(lat*f) / f, math.Round(lng*f) / f
}

// IsMaskedName reports whether name is in Name's masked form (or empty).
func IsMaskedName(name string) bool {
	if name == "" {
		return true
	}
	r, size := utf8.DecodeRuneInString(name)
	return !unicode.IsSpace(r) && name[size:] == nameStars
}
