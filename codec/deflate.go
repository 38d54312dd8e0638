package codec

import (
	"bytes"
	"strings"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
)

// permessage-deflate negotiation (RFC 7692 §5, §7.1), on gobwas/ws's
// wsflate types.
//
// What this server does, whatever is offered:
//
//   - Its compressed messages never use an earlier message as history: it
//     always answers server_no_context_takeover (§7.1.1.1 lets it say so
//     unasked), so that one compressed frame serves every recipient of a
//     broadcast.
//   - It asks the client for the same (client_no_context_takeover,
//     §7.1.1.2), so that inflating needs no state between messages, unless
//     DeflateConfig.ClientWindowBits lets the client keep a window of its
//     own, bounded by client_max_window_bits.
//   - An offer with server_max_window_bits=N is accepted, echoing N: with
//     no history across messages, a message of at most 2^N bytes never
//     refers further back than the window, so those are compressed and
//     larger ones are sent as they are (RSV1 clear, §6).
//   - An offer with an unknown, duplicated or invalid parameter is declined
//     (the next one is tried), never answered with an invalid response
//     (§5.1).

// DeflateConfig is what a server accepts of permessage-deflate.
type DeflateConfig struct {
	// ClientWindowBits, 8 to 15, lets a client keep its compression
	// context across messages (better ratio for a chatty stream) with an
	// LZ77 window of 2^ClientWindowBits bytes, which the server then keeps
	// per connection to inflate with: when the client offers
	// client_max_window_bits it is answered with this value (or the
	// client's, if smaller); a client that offers no bound gets a window
	// only when this is 15. 0, the default: every client is asked for
	// client_no_context_takeover and nothing is kept between messages.
	ClientWindowBits int
}

// Deflate is a negotiated permessage-deflate extension.
type Deflate struct {
	// ServerWindowBits is the window the client allows the server's
	// compressor (server_max_window_bits; 15 when it set none): messages
	// over 2^ServerWindowBits bytes go out uncompressed.
	ServerWindowBits uint8
	// ClientWindowBits is the window the client's compressor keeps across
	// messages, which inflating must keep too; 0 when it keeps none
	// (client_no_context_takeover).
	ClientWindowBits uint8
	// Response is the Sec-WebSocket-Extensions value that accepts it.
	Response string
}

// NegotiateDeflate reads the Sec-WebSocket-Extensions lines of an opening
// handshake and accepts the first permessage-deflate offer it can (offers
// come in the client's order of preference, RFC 6455 §9.1). ok is false
// when none is acceptable, or the header is malformed: the connection then
// goes without compression. Safe from any goroutine.
func NegotiateDeflate(lines []string, cfg DeflateConfig) (d Deflate, ok bool) {
	for _, line := range lines {
		opts, good := httphead.ParseOptions([]byte(line), nil)
		if !good {
			return Deflate{}, false
		}
		for _, opt := range opts {
			if !bytes.Equal(opt.Name, wsflate.ExtensionNameBytes) {
				continue
			}
			if d, ok = acceptOffer(opt, cfg); ok {
				return d, true
			}
		}
	}
	return Deflate{}, false
}

// acceptOffer answers one permessage-deflate offer, or declines it.
func acceptOffer(opt httphead.Option, cfg DeflateConfig) (Deflate, bool) {
	if duplicated(opt) {
		return Deflate{}, false
	}
	var offer wsflate.Parameters
	if offer.Parse(opt) != nil {
		return Deflate{}, false
	}
	resp := wsflate.Parameters{ServerNoContextTakeover: true}
	d := Deflate{ServerWindowBits: 15}
	if offer.ServerMaxWindowBits.Defined() {
		// The response must carry it, with the offered value or less
		// (§7.1.2.1); the offered one costs nothing here.
		resp.ServerMaxWindowBits = offer.ServerMaxWindowBits
		d.ServerWindowBits = uint8(offer.ServerMaxWindowBits)
	}
	bits := clientWindow(offer, cfg)
	switch {
	case bits == 0:
		resp.ClientNoContextTakeover = true
	case offer.ClientMaxWindowBits.Defined():
		resp.ClientMaxWindowBits = wsflate.WindowBits(bits)
	}
	d.ClientWindowBits = bits
	d.Response = encodeParams(resp)
	return d, true
}

// clientWindow is the window the client may keep across messages, 0 for
// none.
func clientWindow(offer wsflate.Parameters, cfg DeflateConfig) uint8 {
	want := cfg.ClientWindowBits
	if want < 8 || want > 15 || offer.ClientNoContextTakeover {
		return 0
	}
	switch offered := int(offer.ClientMaxWindowBits); {
	case offered == 0: // no bound offered: the client's window is 2^15
		if want < 15 {
			return 0
		}
	case offered >= 8 && offered < want: // a value: at most that
		want = offered
	}
	return uint8(want)
}

// duplicated reports a parameter given twice, which §7 makes a reason to
// decline (wsflate.Parameters.Parse misses a repeated valueless
// client_max_window_bits).
func duplicated(opt httphead.Option) bool {
	var seen []string
	dup := false
	opt.Parameters.ForEach(func(k, _ []byte) bool {
		for _, s := range seen {
			if s == string(k) {
				dup = true
				return false
			}
		}
		seen = append(seen, string(k))
		return true
	})
	return dup
}

// encodeParams writes a response's parameters the way browsers and most
// servers do, "; " between them (httphead.WriteOptions omits the space).
func encodeParams(p wsflate.Parameters) string {
	var b strings.Builder
	b.WriteString(wsflate.ExtensionName)
	opt := p.Option()
	opt.Parameters.ForEach(func(k, v []byte) bool {
		b.WriteString("; ")
		b.Write(k)
		if len(v) > 0 {
			b.WriteByte('=')
			b.Write(v)
		}
		return true
	})
	return b.String()
}
