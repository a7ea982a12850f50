package web

import (
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// callError turns a failed call to a service into the page's answer: the
// HTTP status and a sentence for people, and, for INVALID_ARGUMENT, each
// field violation put beside its field in fields (field → reason; a field
// the form does not show goes into the sentence). Internal errors are
// logged, not shown.
func (s *Server) callError(r *http.Request, rpc string, err error, fields map[string]string) (int, string) {
	st := status.Convert(err)
	s.log.WarnContext(r.Context(), rpc+" failed", "actor", sessionOf(r.Context()).Account.Acting().Actor(),
		"code", st.Code().String(), "err", st.Message())
	switch st.Code() {
	case codes.InvalidArgument:
		msg := "参数有误"
		for _, d := range st.Details() {
			br, ok := d.(*errdetails.BadRequest)
			if !ok {
				continue
			}
			for _, v := range br.GetFieldViolations() {
				if fields != nil {
					fields[v.GetField()] = v.GetDescription()
				}
				msg += "；" + v.GetField() + "：" + v.GetDescription()
			}
		}
		if msg == "参数有误" {
			msg += "：" + st.Message()
		}
		return http.StatusBadRequest, msg
	case codes.PermissionDenied:
		return http.StatusForbidden, "无权操作：" + st.Message()
	case codes.NotFound:
		return http.StatusNotFound, "未找到：" + st.Message()
	case codes.FailedPrecondition:
		return http.StatusConflict, "当前状态不允许此操作：" + st.Message()
	case codes.AlreadyExists:
		return http.StatusConflict, "重复的请求：" + st.Message()
	case codes.Unavailable, codes.DeadlineExceeded:
		return http.StatusBadGateway, "服务暂时不可用，请稍后刷新。"
	}
	return http.StatusBadGateway, "服务出错，请稍后刷新。"
}
