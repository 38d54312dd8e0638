package codec

import (
	"errors"

	"github.com/gobwas/ws"
)

// ProtocolError is a violation of RFC 6455 by the peer. Code is the close code
// the connection must be failed with (RFC 6455 §7.4.1): 1002 for framing
// errors, 1007 for invalid UTF-8, 1009 for a message over the size cap.
//
// Decode returns one of the Err* values below, so errors.Is works by identity.
// The values are shared: do not modify them.
type ProtocolError struct {
	Code   ws.StatusCode
	Reason string
}

// Error returns the reason, prefixed with "codec: ".
func (e *ProtocolError) Error() string { return "codec: " + e.Reason }

// Frame header violations (RFC 6455 §5.2), all failing with 1002.
var (
	ErrRsvSet                 = protocolErr(ws.StatusProtocolError, "non-zero rsv bits with no extension negotiated")
	ErrReservedOpCode         = protocolErr(ws.StatusProtocolError, "use of reserved opcode")
	ErrMaskRequired           = protocolErr(ws.StatusProtocolError, "frames from client to server must be masked")
	ErrMaskUnexpected         = protocolErr(ws.StatusProtocolError, "frames from server to client must not be masked")
	ErrControlTooLong         = protocolErr(ws.StatusProtocolError, "control frame payload over 125 bytes")
	ErrControlFragmented      = protocolErr(ws.StatusProtocolError, "control frame is not final")
	ErrContinuationUnexpected = protocolErr(ws.StatusProtocolError, "continuation frame with no message in progress")
	ErrContinuationExpected   = protocolErr(ws.StatusProtocolError, "new data frame while a fragmented message is in progress")
	ErrLengthMSB              = protocolErr(ws.StatusProtocolError, "most significant bit of 64-bit payload length is set")
	// ErrRsv1Unexpected: RSV1 on a control frame or a continuation frame
	// when permessage-deflate is negotiated (RFC 7692 §6.1).
	ErrRsv1Unexpected = protocolErr(ws.StatusProtocolError, "compressed bit set on a control or continuation frame")
)

// Payload violations.
var (
	// ErrMessageTooBig: a message would exceed Decoder.MaxMessage (1009).
	// It is reported as soon as the frame header announcing it is read or,
	// for a compressed message, as soon as inflating passes the cap.
	ErrMessageTooBig = protocolErr(ws.StatusMessageTooBig, "message exceeds the size limit")
	// ErrInvalidUTF8: a text message is not valid UTF-8 (1007, RFC 6455 §8.1).
	ErrInvalidUTF8 = protocolErr(ws.StatusInvalidFramePayloadData, "invalid UTF-8 in text message")
	// ErrBadDeflate: a compressed message that does not inflate (1007,
	// RFC 7692 §8: the endpoint fails the connection).
	ErrBadDeflate = protocolErr(ws.StatusInvalidFramePayloadData, "compressed message does not inflate")
	// ErrCloseTooShort: a close payload of exactly one byte (1002, §5.5.1).
	ErrCloseTooShort = protocolErr(ws.StatusProtocolError, "close frame payload of one byte")
	// ErrCloseCode: a close code that must not be received (1002, §7.4).
	ErrCloseCode = protocolErr(ws.StatusProtocolError, "invalid close code")
	// ErrCloseReasonUTF8: a close reason that is not valid UTF-8 (1007, §5.5.1).
	ErrCloseReasonUTF8 = protocolErr(ws.StatusInvalidFramePayloadData, "invalid UTF-8 in close reason")
)

func protocolErr(code ws.StatusCode, reason string) *ProtocolError {
	return &ProtocolError{Code: code, Reason: reason}
}

// CloseStatus returns the close code to fail the connection with when err is
// (or wraps) a *ProtocolError, and 0 otherwise.
func CloseStatus(err error) ws.StatusCode {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return 0
}

// HTTPError is a refused opening handshake: Status is the HTTP status to
// answer with, Header extra response headers (e.g. Sec-WebSocket-Version on
// 426). AppendErrorResponse renders it.
type HTTPError struct {
	Status int
	Reason string
	Header [][2]string
}

// Error returns the reason, prefixed with "codec: ".
func (e *HTTPError) Error() string { return "codec: " + e.Reason }

// httpErr builds a fresh *HTTPError: the caller may modify what it gets, so
// refusals are not shared values.
func httpErr(status int, reason string, header ...[2]string) *HTTPError {
	return &HTTPError{Status: status, Reason: reason, Header: header}
}
