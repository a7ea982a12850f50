package envelope

import (
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The range a google.protobuf.Timestamp may hold (timestamp.proto): from
// 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
const (
	minSeconds = -62135596800
	maxSeconds = 253402300799
)

// CheckTimes reports the first google.protobuf.Timestamp in m, at any
// depth, that lies outside the range timestamp.proto allows (an overflowed
// or negative count of seconds, nanoseconds outside [0, 1e9)). Such a time
// decodes, but it is no instant: Go formats it as a year past 9999 that JSON
// and the services' stores cannot take, so an event carrying one would fail
// its consumer's transaction again at every delivery. Consumers treat it as
// poison, like an envelope that does not decode.
func CheckTimes(m protoreflect.ProtoMessage) error {
	return checkTimes(m.ProtoReflect(), "")
}

func checkTimes(m protoreflect.Message, path string) error {
	d := m.Descriptor()
	if d.FullName() == "google.protobuf.Timestamp" {
		s := m.Get(d.Fields().ByName("seconds")).Int()
		n := m.Get(d.Fields().ByName("nanos")).Int()
		if s < minSeconds || s > maxSeconds || n < 0 || n >= 1e9 {
			return fmt.Errorf("%s is not a valid timestamp (seconds %d, nanos %d)", path, s, n)
		}
		return nil
	}
	var err error
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if f.Kind() != protoreflect.MessageKind && f.Kind() != protoreflect.GroupKind {
			return true
		}
		name := join(path, string(f.Name()))
		switch {
		case f.IsList():
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = checkTimes(l.Get(i).Message(), fmt.Sprintf("%s[%d]", name, i))
			}
		case f.IsMap():
			if f.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					err = checkTimes(mv.Message(), fmt.Sprintf("%s[%v]", name, k.Interface()))
					return err == nil
				})
			}
		default:
			err = checkTimes(v.Message(), name)
		}
		return err == nil
	})
	return err
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
