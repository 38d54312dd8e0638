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
	errNoJSONStamp  = errors.New("bench: text message without a JSON stamp")
	errBadHistogram = errors.New("bench: histogram bucket out of range")

	// Frames and compressed messages from the server that RFC 6455 or
	// RFC 7692 do not allow.
	errMaskedFrame    = errors.New("bench: masked frame from the server")
	errRsvBits        = errors.New("bench: RSV bits set that no negotiated extension allows (RSV1 only on the first frame of a compressed message)")
	errReservedOpCode = errors.New("bench: reserved opcode")
	errBadControl     = errors.New("bench: control frame fragmented, over 125 bytes or with a 1-byte close body")
	errBadContinue    = errors.New("bench: continuation frame without a message, or a data frame inside one")
	errTooBig         = errors.New("bench: message over the client's 1 MiB cap")
	errInflatedTooBig = errors.New("bench: compressed message inflates past the client's 1 MiB cap")
	errBadDeflate     = errors.New("bench: compressed message does not inflate")
	errBadUTF8        = errors.New("bench: text message or close reason is not valid UTF-8")
	errBadPong        = errors.New("bench: pong that answers no ping of this connection")
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
