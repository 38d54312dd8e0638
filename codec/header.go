package codec

import (
	"encoding/binary"
	"math"

	"github.com/gobwas/ws"
)

// Header wire format (RFC 6455 §5.2): byte 0 is FIN, RSV1-3 and the opcode;
// byte 1 is MASK and a 7-bit length, where 126 and 127 announce a 16-bit or
// 64-bit length that follows; then the 4-byte masking key if MASK is set.
const (
	finBit  = 0x80
	maskBit = 0x80
	len16   = 126
	len64   = 127
)

// parseHeader decodes the frame header at the start of b. It returns n == 0
// when b does not hold the whole header yet. A 64-bit length with the most
// significant bit set comes back as a negative h.Length; checkHeader rejects it.
func parseHeader(b []byte) (h ws.Header, n int) {
	if len(b) < ws.MinHeaderSize {
		return h, 0
	}
	n = headerSize(b[1])
	if len(b) < n {
		return h, 0
	}
	var length int64
	switch l := b[1] & 0x7f; l {
	case len16:
		length = int64(binary.BigEndian.Uint16(b[2:]))
	case len64:
		length = int64(binary.BigEndian.Uint64(b[2:]))
	default:
		length = int64(l)
	}
	h = ws.Header{
		Fin:    b[0]&finBit != 0,
		Rsv:    (b[0] >> 4) & 0x7,
		OpCode: ws.OpCode(b[0] & 0xf),
		Masked: b[1]&maskBit != 0,
		Length: length,
	}
	if h.Masked {
		h.Mask = [4]byte(b[n-4 : n])
	}
	return h, n
}

// headerSize is the size of a header whose second byte is b1.
func headerSize(b1 byte) int {
	n := ws.MinHeaderSize
	switch b1 & 0x7f {
	case len16:
		n += 2
	case len64:
		n += 8
	}
	if b1&maskBit != 0 {
		n += 4
	}
	return n
}

// appendHeader appends the wire form of h, using the shortest length form.
func appendHeader(dst []byte, h ws.Header) []byte {
	b0 := h.Rsv<<4 | byte(h.OpCode)
	if h.Fin {
		b0 |= finBit
	}
	var b1 byte
	if h.Masked {
		b1 = maskBit
	}
	switch {
	case h.Length < len16:
		dst = append(dst, b0, b1|byte(h.Length))
	case h.Length <= 0xffff:
		dst = append(dst, b0, b1|len16)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|len64)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// checkHeader validates h as soon as it is read, before its payload arrives:
// RSV bits (RFC 6455 §5.2), then ws.CheckHeader (reserved opcodes §5.2,
// control frames §5.5, masking §5.1, fragmentation §5.4), then the length.
// Every check but the message cap fails with 1002, so their order shows
// only in the error's Reason.
func (d *Decoder) checkHeader(h ws.Header) error {
	if h.Rsv&^d.rsvAllowed != 0 {
		return ErrRsvSet
	}
	if h.Rsv&rsv1 != 0 && (h.OpCode.IsControl() || h.OpCode == ws.OpContinuation) {
		return ErrRsv1Unexpected // RFC 7692 §6.1: only on a message's first frame
	}
	err := ws.CheckHeader(h, d.state())
	if err != nil {
		return fromWS(err)
	}
	if h.Length < 0 {
		return ErrLengthMSB
	}
	if h.OpCode.IsData() && h.Length > d.wireMax(h)-int64(d.buffered()) {
		return ErrMessageTooBig
	}
	return nil
}

// wireMax is the most a message may take on the wire: the cap, and for a
// compressed message a little more (what deflate adds to incompressible
// data: 5 bytes per 64 KiB stored block, and a few for the stream's ends),
// since the cap that matters is then its inflated size.
func (d *Decoder) wireMax(h ws.Header) int64 {
	limit := d.maxMessage()
	if h.Rsv&rsv1 != 0 || d.msg != nil && d.msg.z {
		extra := limit/1024 + 64
		if limit > math.MaxInt64-extra {
			return math.MaxInt64
		}
		limit += extra
	}
	return limit
}

// state describes the decoder to ws.CheckHeader.
func (d *Decoder) state() ws.State {
	s := ws.StateServerSide
	if d.Client {
		s = ws.StateClientSide
	}
	if d.rsvAllowed != 0 {
		// Rsv bits were already checked against rsvAllowed above.
		s = s.Set(ws.StateExtended)
	}
	if d.msg != nil {
		s = s.Set(ws.StateFragmented)
	}
	return s
}

// fromWS maps the errors of ws.CheckHeader onto this package's vocabulary.
func fromWS(err error) error {
	switch err {
	case ws.ErrProtocolOpCodeReserved:
		return ErrReservedOpCode
	case ws.ErrProtocolControlPayloadOverflow:
		return ErrControlTooLong
	case ws.ErrProtocolControlNotFinal:
		return ErrControlFragmented
	case ws.ErrProtocolNonZeroRsv:
		return ErrRsvSet
	case ws.ErrProtocolMaskRequired:
		return ErrMaskRequired
	case ws.ErrProtocolMaskUnexpected:
		return ErrMaskUnexpected
	case ws.ErrProtocolContinuationExpected:
		return ErrContinuationExpected
	case ws.ErrProtocolContinuationUnexpected:
		return ErrContinuationUnexpected
	}
	return protocolErr(ws.StatusProtocolError, err.Error())
}
