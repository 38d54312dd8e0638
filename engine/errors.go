package engine

import (
	"errors"
	"fmt"

	"github.com/wshub/wshub/internal/hub"
)

// Errors of Start and Stop.
var (
	// ErrRunning is returned by Start on a server that was already started.
	ErrRunning = errors.New("engine: server already started")
	// ErrNotRunning is returned by Stop on a server that is not running.
	ErrNotRunning = errors.New("engine: server not running")
)

// Errors of the send and close paths (Conn.Send, Conn.Close, Broadcast,
// Publish, SendTo, Join, ...).
var (
	// ErrClosed: the connection is gone (its TCP connection has closed).
	ErrClosed = hub.ErrClosed
	// ErrClosing: the connection is closing (Close ran, or the peer or the
	// server started the close); nothing more can be sent to it.
	ErrClosing = hub.ErrClosing
	// ErrNotFound: SendTo got an ID no open connection has.
	ErrNotFound = hub.ErrNotFound
	// ErrBadOpCode: an opcode other than OpText, OpBinary, OpPing, OpPong.
	ErrBadOpCode = hub.ErrBadOpCode
	// ErrCloseFrame: a close frame (opcode 8) given to a send; use Close.
	ErrCloseFrame = hub.ErrCloseFrame
	// ErrControlTooLong: a ping or pong payload over 125 bytes.
	ErrControlTooLong = hub.ErrControlTooLong
	// ErrBadCloseCode: Close got a code an endpoint may not send (0-999,
	// 1004-1006, 1015-2999, 5000 and up).
	ErrBadCloseCode = hub.ErrBadCloseCode
	// ErrStopped: the server's event loops no longer run.
	ErrStopped = hub.ErrStopped
)

// CloseError tells how a connection ended; OnDisconnect receives one.
// Code is the close code of the closing handshake, or 1006
// (StatusAbnormalClosure) when the TCP connection ended without one.
type CloseError struct {
	Code   StatusCode
	Reason string
	// Remote is true when the peer started the closing handshake (or dropped
	// the connection), false when the server did.
	Remote bool
}

func (e *CloseError) Error() string {
	who := "server"
	if e.Remote {
		who = "peer"
	}
	return fmt.Sprintf("engine: closed by %s with %d %q", who, e.Code, e.Reason)
}

// CloseStatus returns the close code carried by err, or 0 if err is not a
// *CloseError.
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}
