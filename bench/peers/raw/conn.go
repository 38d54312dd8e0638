package main

import (
	"bufio"
	"errors"
	"io"
	"math"
	"net"
	"time"
)

const (
	// maxHandshake bounds the bytes read before the request head ends.
	maxHandshake = 8 << 10
	// handshakeTimeout bounds the time to send the request head.
	handshakeTimeout = 10 * time.Second
	// readBufferSize is the per-connection read buffer.
	readBufferSize = 4 << 10
)

// errPeerClosed ends a read loop after the client's close was answered.
var errPeerClosed = errors.New("raw: closed by peer")

// conn is one upgraded connection. Only its reader goroutine touches it;
// the broadcaster writes to nc concurrently, and net.Conn serialises the
// two writers' calls.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	room   string       // "" on /echo
	b      *broadcaster // nil on /echo
	buf    []byte       // echo frame buffer, reused
	frag   []byte       // payload of a fragmented message so far
	fragOp byte         // its opcode; 0 when none is in progress
}

// serve runs one connection from handshake to close.
func serve(nc net.Conn, b *broadcaster) {
	defer nc.Close()
	c, err := handshake(nc)
	if err != nil {
		return
	}
	if c.room != "" {
		c.b = b
		b.join(c.room, nc)
		defer b.leave(c.room, nc)
	}
	c.finish(c.readLoop())
}

// handshake reads the request head, bounded in bytes and time, and answers
// it. Bytes after the head stay in the reader as the first frames.
func handshake(nc net.Conn) (*conn, error) {
	lr := &io.LimitedReader{R: nc, N: maxHandshake}
	br := bufio.NewReaderSize(lr, readBufferSize)
	_ = nc.SetReadDeadline(time.Now().Add(handshakeTimeout))
	req, err := readRequest(br)
	if err == nil && req.path != "/ws" && req.path != "/echo" {
		err = errNotFound
	}
	if err == nil {
		err = checkUpgrade(req)
	}
	if err != nil {
		_, _ = nc.Write(rejection(err))
		return nil, err
	}
	_ = nc.SetReadDeadline(time.Time{})
	lr.N = math.MaxInt64
	if _, err := nc.Write(response(req)); err != nil {
		return nil, err
	}
	c := &conn{nc: nc, br: br}
	if req.path == "/ws" {
		c.room = req.room
		if c.room == "" {
			c.room = "lobby"
		}
	}
	return c, nil
}

// readLoop handles frames until the connection ends.
func (c *conn) readLoop() error {
	for {
		h, err := readHeader(c.br)
		if err != nil {
			return err
		}
		if h.op >= opClose {
			err = c.control(h)
		} else {
			err = c.data(h)
		}
		if err != nil {
			return err
		}
	}
}

// finish sends the close frame a protocol error calls for.
func (c *conn) finish(err error) {
	var pe *protocolError
	if errors.As(err, &pe) {
		_, _ = c.nc.Write(encode(opClose, closePayload(pe.code)))
	}
}

// control answers a ping with a pong carrying its data and a close with a
// close carrying its code; it ignores pongs.
func (c *conn) control(h header) error {
	b, err := next(c.br, h.length)
	if err != nil {
		return err
	}
	var p [maxControl]byte
	payload := p[:copy(p[:], b)]
	unmask(payload, h.mask)
	switch h.op {
	case opPing:
		_, err = c.nc.Write(encode(opPong, payload))
		return err
	case opPong:
		return nil
	case opClose:
		if len(payload) == 1 {
			return errCloseFrame
		}
		_, _ = c.nc.Write(encode(opClose, payload[:min(len(payload), 2)]))
		return errPeerClosed
	default:
		return errReserved
	}
}

// data handles a text, binary or continuation frame. An unfragmented
// message is read straight into its outgoing frame; a fragmented one is
// assembled first.
func (c *conn) data(h header) error {
	switch {
	case h.op > opBinary:
		return errReserved
	case (h.op == opContinuation) != (c.fragOp != 0):
		return errSequence
	case h.fin && h.op != opContinuation:
		frame, err := c.readFrame(h)
		if err != nil {
			return err
		}
		return c.deliver(frame)
	}
	return c.fragment(h)
}

// readFrame reads h's payload into a frame buffer and frames it: a new
// buffer for a room (the broadcaster keeps it), the reused one for echo.
func (c *conn) readFrame(h header) ([]byte, error) {
	var buf []byte
	if c.b != nil {
		buf = make([]byte, maxHeader+h.length)
	} else {
		if cap(c.buf) < maxHeader+h.length {
			c.buf = make([]byte, maxHeader+h.length)
		}
		buf = c.buf[:maxHeader+h.length]
	}
	if _, err := io.ReadFull(c.br, buf[maxHeader:]); err != nil {
		return nil, err
	}
	unmask(buf[maxHeader:], h.mask)
	return frameFrom(buf, h.op), nil
}

// fragment appends one frame of a fragmented message and delivers the
// message on its final frame.
func (c *conn) fragment(h header) error {
	if len(c.frag)+h.length > maxMessage {
		return errTooBig
	}
	if h.op != opContinuation {
		c.fragOp = h.op
	}
	start := len(c.frag)
	c.frag = append(c.frag, make([]byte, h.length)...)
	if _, err := io.ReadFull(c.br, c.frag[start:]); err != nil {
		return err
	}
	unmask(c.frag[start:], h.mask)
	if !h.fin {
		return nil
	}
	frame := encode(c.fragOp, c.frag)
	c.frag, c.fragOp = c.frag[:0], 0
	return c.deliver(frame)
}

// deliver sends a frame back on /echo or hands it to the broadcaster.
func (c *conn) deliver(frame []byte) error {
	if c.b == nil {
		_, err := c.nc.Write(frame)
		return err
	}
	c.b.send(c.room, frame)
	return nil
}
