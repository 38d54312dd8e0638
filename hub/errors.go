package hub

import "errors"

var (
	// ErrClosed is returned for a connection that is no longer attached.
	ErrClosed = errors.New("hub: connection closed")
	// ErrNotFound is returned by SendTo for an unknown connection ID.
	ErrNotFound = errors.New("hub: no connection with that ID")
	// ErrBadOpCode is returned for a message opcode other than text or
	// binary, or a control frame with a payload over 125 bytes.
	ErrBadOpCode = errors.New("hub: opcode must be text or binary (or a control frame of at most 125 bytes)")
	// ErrStopped is returned when the event loop no longer accepts work.
	ErrStopped = errors.New("hub: event loop stopped")
)
