package hub

import "errors"

// The errors of the send and close paths. Package engine re-exports them,
// which is why their text names engine.
var (
	// ErrClosed: the connection is gone (its TCP connection has closed).
	ErrClosed = errors.New("engine: connection closed")
	// ErrClosing: the connection is closing; nothing more can be sent, and
	// its close was already started (by Close, the peer or the server).
	ErrClosing = errors.New("engine: connection is closing")
	// ErrNotFound: no open connection has that ID.
	ErrNotFound = errors.New("engine: no connection with that ID")
	// ErrBadOpCode: the opcode is not text, binary, ping or pong.
	ErrBadOpCode = errors.New("engine: opcode must be text, binary, ping or pong")
	// ErrCloseFrame: a close frame was passed to a send; closing goes
	// through Close, which runs the closing handshake.
	ErrCloseFrame = errors.New("engine: close frames are sent by Close, not Send, Broadcast or Publish")
	// ErrControlTooLong: a ping or pong payload over 125 bytes (RFC 6455 §5.5).
	ErrControlTooLong = errors.New("engine: ping or pong payload over 125 bytes")
	// ErrBadCloseCode: a close code an endpoint may not send (RFC 6455 §7.4).
	ErrBadCloseCode = errors.New("engine: close code may not be sent (want 1000-1003, 1007-1014 or 3000-4999)")
	// ErrStopped: the connection's event loop no longer runs.
	ErrStopped = errors.New("engine: event loop stopped")
)
