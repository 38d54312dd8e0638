package bench

import "encoding/binary"

// StampLen is the size of the header at the start of every data message;
// -size pads messages beyond it.
const StampLen = 20

// Stamp is the header of a data message, big-endian on the wire: the send
// time (8 bytes, Unix nanoseconds), a sequence number (8 bytes) and the
// publisher's connection index (4 bytes). Sequence 0 marks a warm-up
// message, which receivers count but do not measure.
type Stamp struct {
	Sent      int64  // Unix nanoseconds when the message was encoded
	Seq       uint64 // 1, 2, 3 … per publisher; 0 = warm-up
	Publisher uint32 // global index of the sending connection
}

// Put writes s into the first StampLen bytes of b, which must be at least
// that long.
func (s Stamp) Put(b []byte) {
	_ = b[StampLen-1]
	binary.BigEndian.PutUint64(b[0:], uint64(s.Sent))
	binary.BigEndian.PutUint64(b[8:], s.Seq)
	binary.BigEndian.PutUint32(b[16:], s.Publisher)
}

// ReadStamp decodes the header at the start of a message payload.
func ReadStamp(b []byte) (Stamp, error) {
	if len(b) < StampLen {
		return Stamp{}, errShortMessage
	}
	return Stamp{
		Sent:      int64(binary.BigEndian.Uint64(b[0:])),
		Seq:       binary.BigEndian.Uint64(b[8:]),
		Publisher: binary.BigEndian.Uint32(b[16:]),
	}, nil
}
