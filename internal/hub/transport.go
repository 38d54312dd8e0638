package hub

import (
	"context"
	"net"
)

// Task is work for an event loop. Its method set is gnet's Runnable, so an
// adapter hands it to gnet without allocating.
type Task interface {
	Run(context.Context) error
}

// Loop is an event loop as the hub sees it: the goroutine that owns a set
// of sockets and runs the hub's work for them.
type Loop interface {
	// Execute runs t on the loop after the events it is handling now.
	// Safe from any goroutine. An error means the loop no longer runs.
	Execute(t Task) error
}

// Socket is one connection's transport as the hub drives it. Every method
// is called on the connection's loop only.
type Socket interface {
	// Write and Writev write everything or buffer what the kernel does not
	// take (gnet's outbound buffer). A failed write may close the socket
	// before it returns; the owner then reports the end with Hub.Gone.
	Write(b []byte) (int, error)
	Writev(bs [][]byte) (int, error)
	// Buffered returns the bytes written but not yet taken by the kernel.
	Buffered() int
	// CloseWrite shuts the write side (TCP FIN) so that the peer reads
	// everything written before it closes; the owner keeps reading until
	// the peer's EOF. It reports false if the shutdown failed.
	CloseWrite() bool
	// RemoteAddr is the peer's address, for the log.
	RemoteAddr() net.Addr
	// Close closes the connection now. The owner reports the end with
	// Hub.Gone, possibly before Close returns.
	Close()
}
