package bench

import (
	"errors"
	"fmt"
)

// Errors of this package. A run that completes but loses messages or
// connections is not an error: its Result says so (Result.OK, Failures).
var (
	// ErrTooManyConns: more connections in one process than the open-file
	// limit allows; use Config.Procs.
	ErrTooManyConns = errors.New("bench: too many connections for one process")
	// ErrConfig: the configuration is not runnable.
	ErrConfig = errors.New("bench: invalid configuration")

	errShortMessage = errors.New("bench: message shorter than its header")
	errBadHistogram = errors.New("bench: histogram bucket out of range")
)

// configErr wraps ErrConfig with what is wrong.
func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

// HandshakeError is a refused or malformed opening handshake.
type HandshakeError struct {
	Status string // the server's status line, empty if it sent none
	Reason string
}

func (e *HandshakeError) Error() string {
	if e.Status == "" {
		return "bench: handshake: " + e.Reason
	}
	return "bench: handshake: " + e.Reason + " (" + e.Status + ")"
}
