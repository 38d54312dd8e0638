package codec_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/wshub/wshub/codec"
)

// FuzzParseProxyHeader: ParseProxyHeader never panics, never consumes more
// than it was given, says "need more" for every prefix of a header it
// accepts and the same thing for the header alone, never takes back a
// refusal when more bytes come, and agrees on v1 lines with a model built
// on netip and strconv.
func FuzzParseProxyHeader(f *testing.F) {
	for _, c := range proxyValid {
		f.Add([]byte(c.in + proxyTail))
	}
	for _, c := range proxyInvalid {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := codec.ParseProxyHeader(b)
		checkProxyOutcome(t, b, h, n, err)
		if n > 0 {
			checkProxyPrefixes(t, b[:n], h)
		}
		if err != nil {
			more := append(bytes.Clone(b), "\r\n"+proxyTail...)
			if _, _, err2 := codec.ParseProxyHeader(more); err2 == nil {
				t.Fatalf("%q refused (%v), but not once followed by more bytes", b, err)
			}
		}
		if want, wn, ok := proxyV1Model(b); ok && (h != want || n != wn) {
			t.Fatalf("%q: got %+v, %d, %v; the model says %+v, %d", b, h, n, err, want, wn)
		}
	})
}

// checkProxyOutcome checks what must hold of any result.
func checkProxyOutcome(t *testing.T, b []byte, h codec.ProxyHeader, n int, err error) {
	t.Helper()
	switch {
	case n < 0 || n > len(b) || n > codec.MaxProxyHeaderBytes:
		t.Fatalf("%q: n = %d", b, n)
	case err != nil && (n != 0 || h != codec.ProxyHeader{} || !errors.Is(err, codec.ErrProxyHeader)):
		t.Fatalf("%q: got %+v, %d, %v with an error", b, h, n, err)
	case n == 0 && h != codec.ProxyHeader{}:
		t.Fatalf("%q: header %+v without its length", b, h)
	case n == 0 && err == nil && len(b) >= codec.MaxProxyHeaderBytes:
		t.Fatalf("%q: still waiting after %d bytes", b, len(b))
	case n > 0 && h.Version != 1 && h.Version != 2:
		t.Fatalf("%q: version %d", b, h.Version)
	case n > 0 && h.Local && (h.Source.IsValid() || h.Dest.IsValid()):
		t.Fatalf("%q: local with addresses %+v", b, h)
	case n > 0 && !h.Local && (!h.Source.IsValid() || !h.Dest.IsValid()):
		t.Fatalf("%q: no addresses in %+v", b, h)
	}
}

// checkProxyPrefixes: header alone gives h, its prefixes need more.
func checkProxyPrefixes(t *testing.T, header []byte, h codec.ProxyHeader) {
	t.Helper()
	if h2, n2, err := codec.ParseProxyHeader(header); h2 != h || n2 != len(header) || err != nil {
		t.Fatalf("%q alone: got %+v, %d, %v; want %+v, %d, nil", header, h2, n2, err, h, len(header))
	}
	for k := range len(header) {
		if h2, n2, err := codec.ParseProxyHeader(header[:k]); h2 != (codec.ProxyHeader{}) || n2 != 0 || err != nil {
			t.Fatalf("%q, first %d bytes: got %+v, %d, %v; want need more", header, k, h2, n2, err)
		}
	}
}

// proxyV1Model parses a complete v1 line the slow way; ok is false when b
// holds no complete v1 line to judge.
func proxyV1Model(b []byte) (h codec.ProxyHeader, n int, ok bool) {
	s := string(b[:min(len(b), 107)])
	i := strings.IndexByte(s, '\n')
	if !strings.HasPrefix(s, "PROXY ") || i < 0 {
		return h, 0, false
	}
	if s[i-1] != '\r' {
		return h, 0, true
	}
	fields := strings.Split(s[len("PROXY "):i-1], " ")
	switch proto := fields[0]; {
	case proto == "UNKNOWN":
		return codec.ProxyHeader{Version: 1, Local: true}, i + 1, true
	case (proto == "TCP4" || proto == "TCP6") && len(fields) == 5:
		src, ok1 := proxyModelAddrPort(fields[1], fields[3], proto == "TCP6")
		dst, ok2 := proxyModelAddrPort(fields[2], fields[4], proto == "TCP6")
		if ok1 && ok2 {
			return codec.ProxyHeader{Version: 1, Source: src, Dest: dst}, i + 1, true
		}
	}
	return h, 0, true
}

func proxyModelAddrPort(addr, port string, v6 bool) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(addr)
	p, perr := strconv.ParseUint(port, 10, 16)
	ok := err == nil && a.Zone() == "" && a.Is6() == v6 &&
		perr == nil && len(port) <= 5 && strings.Trim(port, "0123456789") == ""
	return netip.AddrPortFrom(a, uint16(p)), ok
}

// FuzzClientAddr: ClientAddr never panics and answers either the peer
// (unmapped) or an address written in the headers, and the peer whenever
// the peer is not trusted.
func FuzzClientAddr(f *testing.F) {
	for _, c := range clientAddrCases {
		f.Add(c.peer, strings.Join(c.forwarded, "\n"), strings.Join(c.xff, "\n"), c.trusted)
	}
	f.Fuzz(func(t *testing.T, peer, forwarded, xff, trusted string) {
		p, _ := netip.ParseAddr(peer)
		nets, err := codec.ParseTrusted(trusted)
		checkTrusted(t, trusted, nets, err)
		if err != nil {
			nets, _ = codec.ParseTrusted(proxyNets)
		}
		h := http.Header{}
		for key, lines := range map[string]string{"Forwarded": forwarded, "X-Forwarded-For": xff} {
			if lines != "" {
				h[key] = strings.Split(lines, "\n")
			}
		}
		got := codec.ClientAddr(p, h, nets)
		switch {
		case got == p.Unmap():
		case !clientAddrTrusted(p, nets):
			t.Fatalf("peer %v is not trusted, but the answer is %v", p, got)
		case !clientAddrWritten(got, h):
			t.Fatalf("%v is neither the peer %v nor in %q", got, p, h)
		}
	})
}

// checkTrusted: ParseTrusted gives masked prefixes or a "codec: " error.
func checkTrusted(t *testing.T, s string, nets []netip.Prefix, err error) {
	t.Helper()
	if err != nil {
		if nets != nil || !strings.HasPrefix(err.Error(), "codec: trusted proxy ") {
			t.Fatalf("ParseTrusted(%q) = %v, %v", s, nets, err)
		}
		return
	}
	for _, p := range nets {
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() && p.Bits() >= 96 {
			t.Fatalf("ParseTrusted(%q) gave %v", s, p)
		}
	}
}

func clientAddrTrusted(a netip.Addr, nets []netip.Prefix) bool {
	a = a.Unmap().WithZone("")
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddrWritten reports whether a appears in the header values, cut
// crudely at every byte that delimits a node in either header, and at the
// colon of an IPv4 address with a port.
func clientAddrWritten(a netip.Addr, h http.Header) bool {
	for _, lines := range h {
		for _, line := range lines {
			line = strings.ReplaceAll(line, `\`, "")
			for _, tok := range strings.FieldsFunc(line, func(r rune) bool { return strings.ContainsRune(",;= \t\"[]", r) }) {
				host, _, _ := strings.Cut(tok, ":") // IPv4 with a port
				for _, s := range []string{tok, host} {
					if b, err := netip.ParseAddr(s); err == nil && b.Unmap() == a {
						return true
					}
				}
			}
		}
	}
	return false
}
