package codec

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// The client's address behind HTTP proxies: each proxy appends the address
// it received the request from to Forwarded (RFC 7239) or X-Forwarded-For
// (the de facto form), so the list reads client first, nearest proxy last.
// Only the entries appended by proxies we trust are true; the client can
// write anything to the left of them. ClientAddr therefore walks from the
// right and stops at the first address that is not a trusted proxy.

// ClientAddr returns the address of the client a request came from. peer
// is the address of the TCP peer (already replaced by the PROXY header's
// source when that is in use). When peer is not within trusted, the
// headers are ignored and peer is the answer.
//
// Otherwise the Forwarded header (RFC 7239 §4: the "for" parameter of each
// element, §6: IPv4, or IPv6 in brackets and quotes, optional port) is used
// if present, else X-Forwarded-For (addresses separated by commas, with an
// optional port as in "192.0.2.1:443" or "[2001:db8::1]:443"); several
// header lines read as one list. The list is walked from right to left,
// skipping addresses within trusted, and the first untrusted address is the
// client. If every hop is trusted, the leftmost one is the client. An entry
// that is not an address stops the walk, and the address to its right (the
// nearest trusted hop, or peer) is the answer: an obfuscated identifier or
// "unknown" (§6.2, §6.3), a Forwarded element without "for", one with
// "for" twice, anything malformed. A value that could not be parsed is
// never trusted.
//
// A trusted proxy must therefore set or strip whichever header it does not
// maintain: when it only appends X-Forwarded-For, a Forwarded header from
// the client is read instead.
//
// IPv4-mapped IPv6 addresses are unmapped, in peer, in the headers and in
// the result. Addresses with a zone are malformed in the headers. Safe from
// any goroutine.
func ClientAddr(peer netip.Addr, h http.Header, trusted []netip.Prefix) netip.Addr {
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	w := hopWalk{trusted: trusted}
	if lines := h["Forwarded"]; len(lines) > 0 {
		w.forwarded(lines)
	} else {
		w.xForwardedFor(h["X-Forwarded-For"])
	}
	if !w.client.IsValid() {
		return peer
	}
	return w.client
}

// hopWalk computes the right-to-left walk in one pass from the left, so no
// list is built: after each entry, client is what the walk would return if
// it reached that entry, or the zero Addr if it would return the entry to
// its right (the entry stops the walk, or there is no entry yet).
type hopWalk struct {
	trusted []netip.Prefix
	client  netip.Addr
}

func (w *hopWalk) add(a netip.Addr, ok bool) {
	switch {
	case !ok:
		w.client = netip.Addr{}
	case !isTrusted(a, w.trusted), !w.client.IsValid():
		w.client = a
	}
}

// forwarded adds the elements of each Forwarded line; commas inside
// quoted strings do not separate elements.
func (w *hopWalk) forwarded(lines []string) {
	for _, line := range lines {
		for more := true; more; {
			var elem string
			elem, line, more = cutOutsideQuotes(line, ',')
			w.add(forwardedFor(strings.Trim(elem, " \t")))
		}
	}
}

// xForwardedFor adds the entries of each X-Forwarded-For line, which has
// no quoting.
func (w *hopWalk) xForwardedFor(lines []string) {
	for _, line := range lines {
		for elem := range strings.SplitSeq(line, ",") {
			w.add(forwardedForDeFacto(strings.Trim(elem, " \t")))
		}
	}
}

// isTrusted reports whether a, unmapped, is within trusted. A zone does
// not matter; IPv4-mapped prefixes match IPv4 addresses.
func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.WithZone("")
	for _, p := range trusted {
		if unmapPrefix(p).Contains(a) {
			return true
		}
	}
	return false
}

// forwardedForDeFacto parses one X-Forwarded-For entry: an address,
// possibly with a port ("192.0.2.1:443" has one colon, IPv6 in brackets).
func forwardedForDeFacto(s string) (netip.Addr, bool) {
	if strings.IndexByte(s, '%') >= 0 {
		return netip.Addr{}, false
	}
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		ap, err := netip.ParseAddrPort(s)
		return ap.Addr().Unmap(), err == nil
	}
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err == nil
}

// forwardedFor parses one Forwarded element (RFC 7239 §4):
// [pair] *(";" [pair]), pair = token "=" (token / quoted-string), and
// returns its one "for" node. Spaces around pairs are tolerated.
func forwardedFor(elem string) (netip.Addr, bool) {
	var node string
	seen := false
	for more := true; more; {
		var pair string
		pair, elem, more = cutOutsideQuotes(elem, ';')
		name, value, ok := forwardedPair(strings.Trim(pair, " \t"))
		isFor := strings.EqualFold(name, "for")
		switch {
		case !ok || isFor && seen:
			return netip.Addr{}, false
		case isFor:
			node, seen = value, true
		}
	}
	if !seen {
		return netip.Addr{}, false
	}
	return forwardedNode(node)
}

// forwardedPair splits token=value and unquotes value; an empty pair is
// valid, with an empty name.
func forwardedPair(pair string) (name, value string, ok bool) {
	if pair == "" {
		return "", "", true
	}
	name, value, ok = strings.Cut(pair, "=")
	if !ok || !isToken(name) {
		return "", "", false
	}
	if strings.HasPrefix(value, `"`) {
		value, ok = unquote(value)
		return name, value, ok
	}
	return name, value, isToken(value)
}

// forwardedNode parses a node (RFC 7239 §6): an IPv4 address, or an IPv6
// address in brackets, then an optional ":port". Obfuscated names and
// "unknown" are not addresses.
func forwardedNode(s string) (netip.Addr, bool) {
	host, port, v6 := s, "", false
	if rest, ok := strings.CutPrefix(s, "["); ok {
		if host, port, v6 = strings.Cut(rest, "]"); !v6 {
			return netip.Addr{}, false
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i:]
	}
	a, ok := nodeAddr(host, v6)
	return a.Unmap(), ok && nodePort(port)
}

// nodeAddr parses an IPv6 address when bracketed, else an IPv4 one.
// Obfuscated names and "unknown" (§6.2, §6.3) are caught before netip
// would build an error for them.
func nodeAddr(s string, bracketed bool) (netip.Addr, bool) {
	if s == "" || s[0] == '_' || strings.EqualFold(s, "unknown") || strings.IndexByte(s, '%') >= 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Is6() == bracketed
}

// nodePort checks "" or ":" node-port, where node-port is 1*5DIGIT or an
// obfuscated port, "_" followed by ALPHA, DIGIT, ".", "_" or "-".
func nodePort(s string) bool {
	if s == "" {
		return true
	}
	p, ok := strings.CutPrefix(s, ":")
	switch {
	case !ok || p == "":
		return false
	case p[0] == '_':
		return len(p) > 1 && strings.Trim(p, obfChars) == ""
	}
	return len(p) <= 5 && strings.Trim(p, "0123456789") == ""
}

const obfChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

// cutOutsideQuotes cuts s around the first sep that is not inside a
// quoted string (RFC 7230 §3.2.6). An unterminated quote runs to the end.
func cutOutsideQuotes(s string, sep byte) (before, after string, found bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unquote returns the content of the quoted-string s (RFC 7230 §3.2.6),
// which must span all of s. It allocates only when s holds a quoted-pair.
func unquote(s string) (string, bool) {
	escapes := 0
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return unescape(s[1:i], escapes), i == len(s)-1
		case c == '\\' && i+1 < len(s) && isQuotable(s[i+1]):
			escapes++
			i++
		case !isQuotable(c) || c == '\\':
			return "", false
		}
	}
	return "", false
}

// isQuotable: HTAB, SP, VCHAR and obs-text.
func isQuotable(c byte) bool { return c == '\t' || c >= ' ' && c != 0x7f }

func unescape(s string, escapes int) string {
	if escapes == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) - escapes)
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ParseTrusted parses a comma-separated list of CIDR prefixes or bare
// addresses ("10.0.0.0/8, 127.0.0.1, ::1") for the trusted proxy option.
// Spaces around items are ignored; an empty or all-space s is no proxies
// (nil, nil), but an empty item is an error. Host bits are masked off, a
// bare address is a prefix of its full length, and IPv4-mapped prefixes
// become IPv4 ones. Zones are refused. The error names the bad item. Safe
// from any goroutine.
func ParseTrusted(s string) ([]netip.Prefix, error) {
	if strings.Trim(s, " \t") == "" {
		return nil, nil
	}
	var trusted []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		p, err := parseTrustedItem(strings.Trim(item, " \t"))
		if err != nil {
			return nil, err
		}
		trusted = append(trusted, p)
	}
	return trusted, nil
}

func parseTrustedItem(item string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(item)
	if a, aerr := netip.ParseAddr(item); aerr == nil && a.Zone() == "" {
		p, err = netip.PrefixFrom(a, a.BitLen()), nil
	}
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("codec: trusted proxy %q is not an IP address or CIDR prefix", item)
	}
	return unmapPrefix(p.Masked()), nil
}

// unmapPrefix turns ::ffff:a.b.c.d/n, n >= 96, into a.b.c.d/(n-96).
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return p
}
