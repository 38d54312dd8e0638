package engine

import (
	"github.com/gobwas/ws"

	"github.com/wshub/wshub/codec"
	"github.com/wshub/wshub/internal/hub"
)

// OpCode is a WebSocket opcode (RFC 6455 §5.2). OnMessage gets OpText or
// OpBinary; Send and the broadcasts take those and the control frames
// OpPing and OpPong. Close frames are sent by Conn.Close only.
type OpCode = ws.OpCode

// The opcodes an application sends and receives.
const (
	OpText   OpCode = ws.OpText
	OpBinary OpCode = ws.OpBinary
	OpPing   OpCode = ws.OpPing
	OpPong   OpCode = ws.OpPong
)

// StatusCode is a close code (RFC 6455 §7.4).
type StatusCode = ws.StatusCode

// Close codes. Conn.Close takes 1000-1003, 1007-1014 and 3000-4999 (codes
// 4000-4999 are the application's own); StatusNoStatusRcvd and
// StatusAbnormalClosure are only ever reported, in CloseError.
const (
	StatusNormalClosure           StatusCode = 1000
	StatusGoingAway               StatusCode = 1001
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003
	StatusNoStatusRcvd            StatusCode = 1005 // the peer's close frame had no code
	StatusAbnormalClosure         StatusCode = 1006 // TCP ended without a closing handshake
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusMandatoryExtension      StatusCode = 1010
	StatusInternalServerError     StatusCode = 1011
	StatusServiceRestart          StatusCode = 1012
	StatusTryAgainLater           StatusCode = 1013
	StatusBadGateway              StatusCode = 1014
)

// Request is a parsed upgrade request: method, path, query, headers.
type Request = codec.Request

// SlowPolicy says what happens to a connection whose outbound backlog
// reaches the cap (WithMaxBacklog): a client that does not read fast
// enough.
type SlowPolicy uint8

// The slow-client policies.
const (
	// PolicyClose (the default) fails the connection with 1008: the close
	// frame is queued past the cap, and TCP closes once the client has read
	// it or after the close timeout.
	PolicyClose SlowPolicy = 0
	// PolicyDropNewest drops each message that does not fit; the client gets
	// the older ones and resumes once it has caught up.
	PolicyDropNewest SlowPolicy = 1
	// PolicyDropOldest keeps up to the cap more in the server and drops the
	// oldest of those: a client that catches up gets the latest messages.
	// Its memory bound is twice the cap.
	PolicyDropOldest SlowPolicy = 2
)

// String returns the policy's name as ParseSlowPolicy and cmd/wshub's
// -slow-policy flag spell it.
func (p SlowPolicy) String() string { return hub.SlowPolicy(p).String() }

// ParseSlowPolicy maps "close", "drop-newest" or "drop-oldest" to a policy.
func ParseSlowPolicy(s string) (SlowPolicy, error) {
	p, err := hub.ParseSlowPolicy(s)
	return SlowPolicy(p), err
}

// DefaultMaxBacklog is the default per-connection backlog cap, 4 MiB.
const DefaultMaxBacklog = 4 << 20

// Stats are the server's counters.
type Stats struct {
	Connections  int   // open connections
	Handshaking  int   // sockets whose opening handshake is in progress
	Dropped      int64 // messages dropped by PolicyDropNewest or PolicyDropOldest
	SlowClosed   int64 // connections closed by PolicyClose
	Refused      int64 // handshakes refused by a limit: MaxConns (503), MaxConnsPerIP (429)
	Shed         int64 // sockets closed at accept: descriptor or handshake budget, EMFILE
	AcceptErrors int64 // failed accepts (EMFILE, ENFILE, ...)
	TimedOut     int64 // connections closed by IdleTimeout or MessageTimeout
	BudgetShed   int64 // connections closed for the buffer budget (MaxBuffered)
	Buffered     int64 // outbound backlogs at their cost, and with MaxBuffered partial input: what the budget counts
}

// Room is a room and its member count.
type Room struct {
	Name    string
	Members int
}
