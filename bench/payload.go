package bench

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strconv"

	"github.com/gobwas/ws"
)

// Payloads: what a message carries after its stamp.
const (
	// PayloadBinary: a binary message, the 20-byte Stamp padded with 'x'.
	PayloadBinary = "binary"
	// PayloadJSON: a text message of JSON-like game state and chat
	// objects with varying numbers, which compresses as such traffic does;
	// the stamp is its first field, in hex (JSONStampLen bytes).
	PayloadJSON = "json"
)

// JSON payload layout: `{"stamp":"` + 16 hex digits of the send time, 16 of
// the sequence, 8 of the publisher + `",`, then the body, which depends
// only on the message's variant.
const (
	jsonStampOpen = `{"stamp":"`
	jsonStampHex  = 40
	// JSONStampLen is the size of the stamp at the start of a JSON message.
	JSONStampLen = len(jsonStampOpen) + jsonStampHex + len(`",`)
	// minJSONSize is the smallest JSON message: the stamp and `"pad":""}`.
	minJSONSize = JSONStampLen + len(jsonPadOpen) + len(`"}`)
)

const (
	jsonHead    = `"type":"state","tick":`
	jsonList    = `,"entities":[`
	jsonPadOpen = `"pad":"`
	jsonPadList = `],` + jsonPadOpen
)

// maxBodyCache caps what a loop keeps of JSON bodies (all variants
// together); a run with larger messages has fewer variants.
const maxBodyCache = 16 << 20

// jsonVariants is how many different bodies messages of size bytes cycle
// through: 64 of 1 KiB exceed the 32 KiB LZ77 window, so a server that
// keeps its compression context cannot refer a message to its identical
// twin; never fewer than 4.
func jsonVariants(size int) int { return max(4, min(64, maxBodyCache/max(size, 1))) }

// AppendJSONStamp appends the textual stamp that starts a JSON message:
// JSONStampLen bytes.
func AppendJSONStamp(dst []byte, s Stamp) []byte {
	dst = append(dst, jsonStampOpen...)
	dst = appendHex(dst, uint64(s.Sent), 16)
	dst = appendHex(dst, s.Seq, 16)
	dst = appendHex(dst, uint64(s.Publisher), 8)
	return append(dst, `",`...)
}

func appendHex(dst []byte, v uint64, digits int) []byte {
	const hexDigits = "0123456789abcdef"
	for i := digits - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(v>>(4*uint(i)))&0xf])
	}
	return dst
}

// ReadJSONStamp decodes the stamp at the start of a JSON message.
func ReadJSONStamp(b []byte) (Stamp, error) {
	if len(b) < JSONStampLen || string(b[:len(jsonStampOpen)]) != jsonStampOpen ||
		string(b[JSONStampLen-2:JSONStampLen]) != `",` {
		return Stamp{}, errNoJSONStamp
	}
	var raw [jsonStampHex / 2]byte
	if _, err := hex.Decode(raw[:], b[len(jsonStampOpen):JSONStampLen-2]); err != nil {
		return Stamp{}, errNoJSONStamp
	}
	var st Stamp
	for _, c := range raw[:8] {
		st.Sent = st.Sent<<8 | int64(c)
	}
	for _, c := range raw[8:16] {
		st.Seq = st.Seq<<8 | uint64(c)
	}
	for _, c := range raw[16:] {
		st.Publisher = st.Publisher<<8 | uint32(c)
	}
	return st, nil
}

// AppendJSONBody appends what follows the stamp in a JSON message of size
// bytes (size-JSONStampLen bytes, at least minJSONSize-JSONStampLen):
// the tick, an array of player, chat and item objects with numbers drawn
// from variant, and a hex pad that makes the size exact. The result after
// a stamp is valid JSON.
func AppendJSONBody(dst []byte, size int, variant uint64) []byte {
	n := size - JSONStampLen
	rng := rand.New(rand.NewPCG(variant, 0x9e3779b97f4a7c15))
	start := len(dst)
	closing := len(jsonPadList) + len(`"}`)
	dst = append(dst, jsonHead...)
	dst = strconv.AppendUint(dst, 100000+variant*3+uint64(rng.IntN(3)), 10)
	dst = append(dst, jsonList...)
	if len(dst)-start+closing > n {
		// Too small for the entities: the pad alone.
		dst = append(dst[:start], jsonPadOpen...)
		closing = len(`"}`)
	} else {
		var obj []byte
		for i := 0; ; i++ {
			obj = appendEntity(obj[:0], rng, i)
			sep := 0
			if i > 0 {
				sep = 1
			}
			if len(dst)-start+sep+len(obj)+closing > n {
				break
			}
			if sep > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, obj...)
		}
		dst = append(dst, jsonPadList...)
		closing = len(`"}`)
	}
	for pad := n - (len(dst) - start) - closing; pad > 0; pad-- {
		dst = append(dst, "0123456789abcdef"[rng.IntN(16)])
	}
	return append(dst, `"}`...)
}

// Words of the chat objects.
var (
	chatLines = []string{
		"gg wp", "meet at the north gate", "who has the flag?", "need healing!",
		"on my way", "brb", "nice shot", "push mid now", "anyone selling potions?",
		"lag again...", "let's go team", "watch the left flank",
	}
	teams = []string{"red", "blue", "green", "gold"}
	items = []string{"potion", "sword", "shield", "arrow", "gem", "scroll"}
	rooms = []string{"lobby", "arena-1", "arena-2", "market"}
)

// appendEntity appends one object: mostly players, some chat lines and
// items, as a game's state push carries them.
func appendEntity(dst []byte, rng *rand.Rand, i int) []byte {
	id := 1000 + rng.IntN(9000)
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, int64(id), 10)
	switch k := rng.IntN(10); {
	case k < 6:
		dst = append(dst, `,"kind":"player","name":"player-`...)
		dst = strconv.AppendInt(dst, int64(id%500), 10)
		dst = append(dst, `","x":`...)
		dst = appendFixed(dst, rng, 2000)
		dst = append(dst, `,"y":`...)
		dst = appendFixed(dst, rng, 2000)
		dst = append(dst, `,"vx":`...)
		dst = appendFixed(dst, rng, 8)
		dst = append(dst, `,"vy":`...)
		dst = appendFixed(dst, rng, 8)
		dst = append(dst, `,"hp":`...)
		dst = strconv.AppendInt(dst, int64(rng.IntN(101)), 10)
		dst = append(dst, `,"team":"`...)
		dst = append(dst, teams[rng.IntN(len(teams))]...)
		dst = append(dst, `","alive":`...)
		dst = strconv.AppendBool(dst, rng.IntN(8) != 0)
	case k < 8:
		dst = append(dst, `,"kind":"chat","from":"player-`...)
		dst = strconv.AppendInt(dst, int64(rng.IntN(500)), 10)
		dst = append(dst, `","room":"`...)
		dst = append(dst, rooms[rng.IntN(len(rooms))]...)
		dst = append(dst, `","text":"`...)
		dst = append(dst, chatLines[rng.IntN(len(chatLines))]...)
		dst = append(dst, `","at":`...)
		dst = strconv.AppendInt(dst, 1_764_000_000_000+int64(i)*37+int64(rng.IntN(1000)), 10)
	default:
		dst = append(dst, `,"kind":"item","item":"`...)
		dst = append(dst, items[rng.IntN(len(items))]...)
		dst = append(dst, `","x":`...)
		dst = appendFixed(dst, rng, 2000)
		dst = append(dst, `,"y":`...)
		dst = appendFixed(dst, rng, 2000)
		dst = append(dst, `,"qty":`...)
		dst = strconv.AppendInt(dst, int64(1+rng.IntN(20)), 10)
	}
	return append(dst, '}')
}

// appendFixed appends a number in (-limit, limit) with two decimals.
func appendFixed(dst []byte, rng *rand.Rand, limit int) []byte {
	v := rng.IntN(2*limit*100) - limit*100
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	dst = strconv.AppendInt(dst, int64(v/100), 10)
	return append(dst, '.', byte('0'+v/10%10), byte('0'+v%10))
}

// payloads builds one loop's messages: the stamp, then a body that depends
// only on the message's variant (its sequence number modulo the variant
// count), built on first use and, for compressed connections, compressed
// once per client window size. A compressed message is its stamp in a
// stored block (appendStored) followed by the compressed body: the server
// inflates all of it, and the client does not compress the same body
// again for every message. Loop only.
type payloads struct {
	json    bool
	size    int
	bodies  [][]byte         // by variant
	zbodies map[int][][]byte // by client_max_window_bits, then variant
	stamp   []byte           // scratch
}

func newPayloads(kind string, size int) *payloads {
	ps := &payloads{json: kind == PayloadJSON, size: size, zbodies: map[int][][]byte{}}
	n := 1
	if ps.json {
		n = jsonVariants(size)
	}
	ps.bodies = make([][]byte, n)
	return ps
}

// opCode is the messages' opcode: text for JSON.
func (ps *payloads) opCode() ws.OpCode {
	if ps.json {
		return ws.OpText
	}
	return ws.OpBinary
}

func (ps *payloads) variant(seq uint64) int { return int(seq % uint64(len(ps.bodies))) }

// body returns the body of message seq; the caller must not modify it.
func (ps *payloads) body(seq uint64) []byte {
	v := ps.variant(seq)
	if ps.bodies[v] == nil {
		if ps.json {
			ps.bodies[v] = AppendJSONBody(make([]byte, 0, ps.size-JSONStampLen), ps.size, uint64(v))
		} else {
			ps.bodies[v] = bytes.Repeat([]byte{'x'}, ps.size-StampLen)
		}
	}
	return ps.bodies[v]
}

func (ps *payloads) appendStamp(dst []byte, st Stamp) []byte {
	if ps.json {
		return AppendJSONStamp(dst, st)
	}
	var b [StampLen]byte
	st.Put(b[:])
	return append(dst, b[:]...)
}

// appendPlain appends message st.Seq, uncompressed.
func (ps *payloads) appendPlain(dst []byte, st Stamp) []byte {
	return append(ps.appendStamp(dst, st), ps.body(st.Seq)...)
}

// appendCompressed appends message st.Seq compressed for a connection
// whose client window is 2^bits bytes, without the final 00 00 ff ff.
func (ps *payloads) appendCompressed(dst []byte, st Stamp, bits int) ([]byte, error) {
	zb := ps.zbodies[bits]
	if zb == nil {
		zb = make([][]byte, len(ps.bodies))
		ps.zbodies[bits] = zb
	}
	v := ps.variant(st.Seq)
	if zb[v] == nil {
		z, err := compressBody(ps.body(st.Seq), bits)
		if err != nil {
			return dst, err
		}
		zb[v] = z
	}
	ps.stamp = ps.appendStamp(ps.stamp[:0], st)
	return append(appendStored(dst, ps.stamp), zb[v]...), nil
}

// readStamp decodes the stamp of a received message.
func (ps *payloads) readStamp(p []byte) (Stamp, error) {
	if ps.json {
		return ReadJSONStamp(p)
	}
	return ReadStamp(p)
}
