package main

import (
	"bufio"
	"encoding/binary"
)

// Opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

const (
	// maxHeader is the longest server frame header: no mask, 64-bit length.
	maxHeader = 10
	// maxMessage bounds a client message, as gws's default read limit does.
	maxMessage = 16 << 20
	// maxControl is the largest control payload (section 5.5).
	maxControl = 125
)

// Close codes (section 7.4.1).
const (
	closeNormal   = 1000
	closeProtocol = 1002
	closeTooBig   = 1009
)

// protocolError is a client's violation of RFC 6455; code is the close code
// the server answers it with.
type protocolError struct {
	code   uint16
	reason string
}

func (e *protocolError) Error() string { return "raw: " + e.reason }

var (
	errReserved   = &protocolError{closeProtocol, "reserved bits or opcode set"}
	errUnmasked   = &protocolError{closeProtocol, "client frame not masked"}
	errControl    = &protocolError{closeProtocol, "fragmented or oversized control frame"}
	errSequence   = &protocolError{closeProtocol, "continuation frame out of sequence"}
	errCloseFrame = &protocolError{closeProtocol, "close payload of one byte"}
	errTooBig     = &protocolError{closeTooBig, "message too big"}
)

// header is a decoded client frame header.
type header struct {
	fin    bool
	op     byte
	length int
	mask   [4]byte
}

// next returns the next n bytes of br and consumes them; the slice is only
// valid until the next read.
func next(br *bufio.Reader, n int) ([]byte, error) {
	b, err := br.Peek(n)
	if err != nil {
		return nil, err
	}
	_, _ = br.Discard(n)
	return b, nil
}

// readHeader reads one client frame header (section 5.2).
func readHeader(br *bufio.Reader) (header, error) {
	b, err := next(br, 2)
	if err != nil {
		return header{}, err
	}
	h := header{fin: b[0]&0x80 != 0, op: b[0] & 0x0f}
	if b[0]&0x70 != 0 {
		return h, errReserved
	}
	if b[1]&0x80 == 0 {
		return h, errUnmasked
	}
	n, err := readLength(br, b[1]&0x7f)
	if err != nil {
		return h, err
	}
	if h.op >= opClose && (n > maxControl || !h.fin) {
		return h, errControl
	}
	h.length = int(n)
	m, err := next(br, 4)
	if err != nil {
		return h, err
	}
	copy(h.mask[:], m)
	return h, nil
}

// readLength decodes the 7-bit length and its 16- or 64-bit extension.
func readLength(br *bufio.Reader, short byte) (uint64, error) {
	var n uint64
	switch short {
	case 126:
		b, err := next(br, 2)
		if err != nil {
			return 0, err
		}
		n = uint64(binary.BigEndian.Uint16(b))
	case 127:
		b, err := next(br, 8)
		if err != nil {
			return 0, err
		}
		n = binary.BigEndian.Uint64(b)
	default:
		n = uint64(short)
	}
	if n > maxMessage {
		return 0, errTooBig
	}
	return n, nil
}

// unmask XORs p with the key (section 5.3), eight bytes at a time.
func unmask(p []byte, key [4]byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k64)
		p = p[8:]
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
}

// headerLen is the length of a server header for an n-byte payload.
func headerLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return 10
	}
}

// putHeader writes a final, unmasked server header for an n-byte payload
// at the start of dst, which must hold headerLen(n) bytes.
func putHeader(dst []byte, op byte, n int) {
	dst[0] = 0x80 | op
	switch headerLen(n) {
	case 2:
		dst[1] = byte(n)
	case 4:
		dst[1] = 126
		binary.BigEndian.PutUint16(dst[2:], uint16(n))
	default:
		dst[1] = 127
		binary.BigEndian.PutUint64(dst[2:], uint64(n))
	}
}

// frameFrom turns buf, whose payload starts at buf[maxHeader:], into one
// contiguous server frame by writing the header right before the payload.
func frameFrom(buf []byte, op byte) []byte {
	n := len(buf) - maxHeader
	start := maxHeader - headerLen(n)
	putHeader(buf[start:], op, n)
	return buf[start:]
}

// encode returns a new server frame holding p.
func encode(op byte, p []byte) []byte {
	buf := make([]byte, maxHeader+len(p))
	copy(buf[maxHeader:], p)
	return frameFrom(buf, op)
}

// closePayload is a close frame's payload for code.
func closePayload(code uint16) []byte {
	return binary.BigEndian.AppendUint16(nil, code)
}
