package hub

import (
	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
)

// admit is the one rule for what an application may queue, whichever send
// path it uses (a single send, a targeted send, a broadcast, a room
// publish): text and binary messages of any size, pings and pongs of at
// most 125 bytes (RFC 6455 §5.5). Close frames are refused: only Close
// sends one, so that nothing can follow it (§5.5.1) and the closing
// handshake runs. Safe from any goroutine.
func admit(op ws.OpCode, n int) error {
	switch op {
	case ws.OpText, ws.OpBinary:
		return nil
	case ws.OpPing, ws.OpPong:
		if n > ws.MaxControlFramePayloadSize {
			return ErrControlTooLong
		}
		return nil
	case ws.OpClose:
		return ErrCloseFrame
	}
	return ErrBadOpCode
}

// admitClose is the rule for the code of a close frame the application
// sends: the codes RFC 6455 §7.4 and the IANA registry give an endpoint to
// send (codec.ValidCloseCode). Safe from any goroutine.
func admitClose(code ws.StatusCode) error {
	if !codec.ValidCloseCode(code) {
		return ErrBadCloseCode
	}
	return nil
}
