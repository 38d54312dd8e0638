package codec

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// control returns a ping, pong or close frame as its own message; control
// frames may arrive between the fragments of a data message (RFC 6455 §5.4).
func control(op ws.OpCode, payload []byte, m *Message) error {
	if op == ws.OpClose {
		code, reason, err := parseClose(payload)
		if err != nil {
			return err
		}
		m.CloseCode, m.CloseReason = code, reason
	}
	m.OpCode, m.Payload = op, payload
	return nil
}

// parseClose reads the body of a close frame (RFC 6455 §5.5.1): nothing, or a
// 2-byte code followed by a UTF-8 reason.
func parseClose(p []byte) (ws.StatusCode, string, error) {
	switch {
	case len(p) == 0:
		return ws.StatusNoStatusRcvd, "", nil
	case len(p) == 1:
		return 0, "", ErrCloseTooShort
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(p))
	if !ValidCloseCode(code) {
		return 0, "", ErrCloseCode
	}
	if !utf8.Valid(p[2:]) {
		return 0, "", ErrCloseReasonUTF8
	}
	return code, string(p[2:]), nil
}

// ValidCloseCode reports whether code may appear in a close frame, sent or
// received (RFC 6455 §7.4 and the IANA registry): 1000-1003, 1007-1014
// (1012-1014 were registered after the RFC: service restart, try again
// later, bad gateway) and 3000-4999 for libraries and applications. 1004
// is reserved, and 1005, 1006 and 1015 are for reporting only: an endpoint
// never sends them. The Autobahn test suite's invalid codes (cases 7.9.x:
// 0, 999, 1004-1006, 1016, 1100, 2000, 2999) are all refused. Safe from
// any goroutine.
func ValidCloseCode(code ws.StatusCode) bool {
	switch {
	case code.IsApplicationSpec(), code.IsPrivateSpec():
		return true
	case code >= ws.StatusNormalClosure && code <= ws.StatusUnsupportedData:
		return true
	case code >= ws.StatusInvalidFramePayloadData && code <= 1014:
		return true
	}
	return false
}
