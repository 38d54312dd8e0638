package engine

import (
	"errors"
	"fmt"

	"github.com/gobwas/ws"
)

var (
	// ErrRunning is returned by Start on a server that was already started.
	ErrRunning = errors.New("engine: server already started")
	// ErrNotRunning is returned by Stop on a server that is not running.
	ErrNotRunning = errors.New("engine: server not running")
	// ErrBadCloseCode is returned by Close for a code that may not be sent
	// (RFC 6455 §7.4).
	ErrBadCloseCode = errors.New("engine: close code may not be sent")
)

// CloseError tells how a connection ended; OnDisconnect receives one.
// Code is the close code of the closing handshake, or 1006
// (StatusAbnormalClosure) when the TCP connection ended without one.
type CloseError struct {
	Code   ws.StatusCode
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
func CloseStatus(err error) ws.StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}
