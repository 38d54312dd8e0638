package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
)

// PROXY protocol headers (HAProxy, proxy-protocol.txt, version 2.9): a TCP
// proxy that cannot add HTTP headers prepends the client's address to the
// stream instead. Version 1 (§2.1) is a text line, version 2 (§2.2) a
// binary block; both come before any byte of the proxied protocol, so the
// engine parses one from the start of the inbound buffer, discards exactly
// its length and hands the rest to ParseRequest.

// ProxyHeader is what a PROXY protocol header says about the connection.
type ProxyHeader struct {
	Version int            // 1 or 2
	Local   bool           // v2 LOCAL command, or v1 "UNKNOWN": use the real peer address
	Source  netip.AddrPort // the client, as the proxy saw it (zero when Local)
	Dest    netip.AddrPort // the address the client connected to (zero when Local)
}

// MaxProxyHeaderBytes is the longest header ParseProxyHeader accepts: a v2
// preamble of 16 bytes and an address block of at most 4096. The spec
// allows blocks up to 65535 bytes (§2.2), but addresses take at most 216
// and the rest is TLVs this package skips, so a longer block is refused
// rather than buffered. A v1 line is at most 107 bytes (§2.1).
const MaxProxyHeaderBytes = v2PreambleLen + v2MaxBlock

// ErrProxyHeader is returned for anything that is not a valid PROXY
// protocol header; the error ParseProxyHeader returns wraps it with detail,
// so test with errors.Is. A connection that starts with one must be closed:
// its first bytes cannot be trusted as anything else.
var ErrProxyHeader = errors.New("codec: invalid PROXY protocol header")

// proxyError is a detailed ErrProxyHeader. A string type: converting a
// constant to it allocates nothing, so refusing a header is as cheap as
// accepting one.
type proxyError string

func (e proxyError) Error() string { return ErrProxyHeader.Error() + ": " + string(e) }
func (e proxyError) Unwrap() error { return ErrProxyHeader }

const (
	errProxySignature = proxyError("no v1 or v2 signature")
	errV1TooLong      = proxyError("v1 line over 107 bytes")
	errV1CRLF         = proxyError("v1 line not ended by CRLF")
	errV1Protocol     = proxyError("v1 protocol is not TCP4, TCP6 or UNKNOWN")
	errV1Fields       = proxyError("v1 line is not 4 fields separated by single spaces")
	errV1Addr         = proxyError("v1 address is malformed or not of the protocol's family")
	errV1Port         = proxyError("v1 port is not a decimal number from 0 to 65535")
	errV2Version      = proxyError("v2 version is not 2")
	errV2Command      = proxyError("v2 command is not LOCAL or PROXY")
	errV2Family       = proxyError("v2 family is not UNSPEC, or STREAM over INET, INET6 or UNIX")
	errV2TooLong      = proxyError("v2 address block over 4096 bytes")
	errV2Short        = proxyError("v2 address block too short for its family")
)

// ParseProxyHeader parses a PROXY protocol v1 or v2 header at the start of
// b. It returns n == 0 and err == nil while b could still be the start of a
// valid header but is incomplete; n is the header's length (bytes to
// discard) once complete, and the bytes after it are not consumed. It
// never waits for more than MaxProxyHeaderBytes. Every error wraps
// ErrProxyHeader, and comes as soon as the bytes so far cannot start a
// valid header: a first byte other than 'P' or '\r' fails at once, a v1
// line fails on its first bad field, a v2 preamble on its first bad byte.
// TLVs (§2.2.1) are skipped, not checked. Safe from any goroutine.
func ParseProxyHeader(b []byte) (h ProxyHeader, n int, err error) {
	switch {
	case len(b) == 0:
		return h, 0, nil
	case b[0] == v1Prefix[0]:
		return parseV1(b)
	case b[0] == v2Signature[0]:
		return parseV2(b)
	}
	return h, 0, errProxySignature
}

// startsWith reports whether b and prefix agree on their common length: b
// is prefix, starts with it, or could still grow into it.
func startsWith(b []byte, prefix string) bool {
	n := min(len(b), len(prefix))
	return string(b[:n]) == prefix[:n]
}

// Version 1 (§2.1): "PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n", or
// "PROXY UNKNOWN" followed by anything up to the CRLF. The line is checked
// as it arrives, so garbage fails before its CRLF, and field by field, so
// the first bad field is the one reported.

const (
	v1Prefix = "PROXY "
	v1MaxLen = 107
	v1TCP4   = "TCP4 "
	v1TCP6   = "TCP6 "
	v1Local  = "UNKNOWN"
)

func parseV1(b []byte) (ProxyHeader, int, error) {
	i := bytes.IndexByte(b[:min(len(b), v1MaxLen)], '\n')
	switch {
	case !startsWith(b, v1Prefix):
		return ProxyHeader{}, 0, errProxySignature
	case i < 0 && !v1Fits(b):
		return ProxyHeader{}, 0, errV1TooLong
	case i < 0:
		return ProxyHeader{}, 0, checkV1Start(b[min(len(b), len(v1Prefix)):])
	case b[i-1] != '\r':
		return ProxyHeader{}, 0, errV1CRLF
	}
	h, err := parseV1Line(b[len(v1Prefix):i-1], true)
	if err != nil {
		return ProxyHeader{}, 0, err
	}
	return h, i + 1, nil
}

// v1Fits reports whether b, holding no LF, could still end in a CRLF
// within v1MaxLen bytes.
func v1Fits(b []byte) bool {
	return len(b) < v1MaxLen-1 || len(b) == v1MaxLen-1 && b[len(b)-1] == '\r'
}

// checkV1Start checks an incomplete line: rest follows "PROXY " and holds
// no LF. A CR at its end can only be the CR of the CRLF, so the line
// before it is complete.
func checkV1Start(rest []byte) error {
	line, complete := bytes.CutSuffix(rest, []byte{'\r'})
	_, err := parseV1Line(line, complete)
	return err
}

// parseV1Line parses the line between "PROXY " and the CRLF. While the
// line is incomplete, it fails only when no more bytes could make it valid.
func parseV1Line(line []byte, complete bool) (ProxyHeader, error) {
	if startsWith(line, v1Local) {
		return parseV1Unknown(line, complete)
	}
	v6, fields, ok := cutV1Protocol(line)
	if !ok {
		could := !complete && (startsWith(line, v1TCP4) || startsWith(line, v1TCP6))
		return ProxyHeader{}, okIf(could, errV1Protocol)
	}
	return parseV1Fields(fields, v6, complete)
}

// parseV1Unknown: "UNKNOWN", then nothing, or a space and anything.
func parseV1Unknown(line []byte, complete bool) (ProxyHeader, error) {
	rest := line[min(len(line), len(v1Local)):]
	if complete && len(line) < len(v1Local) || len(rest) > 0 && rest[0] != ' ' {
		return ProxyHeader{}, errV1Protocol
	}
	return ProxyHeader{Version: 1, Local: true}, nil
}

// cutV1Protocol cuts "TCP4 " or "TCP6 " from the start of line.
func cutV1Protocol(line []byte) (v6 bool, rest []byte, ok bool) {
	if rest, ok = bytes.CutPrefix(line, []byte(v1TCP4)); ok {
		return false, rest, true
	}
	rest, ok = bytes.CutPrefix(line, []byte(v1TCP6))
	return true, rest, ok
}

// parseV1Fields parses "src dst sport dport", separated by single spaces.
func parseV1Fields(s []byte, v6, complete bool) (ProxyHeader, error) {
	h := ProxyHeader{Version: 1}
	for i := range 4 {
		f, rest, more := bytes.Cut(s, []byte{' '})
		if !more && !complete {
			return ProxyHeader{}, checkV1Growing(f, i, v6)
		}
		if err := setV1Field(&h, i, f, v6); err != nil {
			return ProxyHeader{}, err
		}
		if more == (i == 3) {
			return ProxyHeader{}, errV1Fields
		}
		s = rest
	}
	return h, nil
}

// setV1Field parses field i into h: the source address, the destination
// address, the source port, the destination port.
func setV1Field(h *ProxyHeader, i int, f []byte, v6 bool) error {
	ap := &h.Source
	if i%2 == 1 {
		ap = &h.Dest
	}
	if i < 2 {
		a, err := v1Addr(f, v6)
		*ap = netip.AddrPortFrom(a, ap.Port())
		return err
	}
	p, err := v1Port(f)
	*ap = netip.AddrPortFrom(ap.Addr(), p)
	return err
}

// v1Addr parses an address of the line's family: dotted IPv4 for TCP4, any
// IPv6 text for TCP6 (IPv4-mapped ones are kept as they are), no zone.
func v1Addr(f []byte, v6 bool) (netip.Addr, error) {
	if v6 {
		ip, ok := parseIPv6(f)
		return netip.AddrFrom16(ip), okIf(ok, errV1Addr)
	}
	ip, ok := parseIPv4(f)
	return netip.AddrFrom4(ip), okIf(ok, errV1Addr)
}

// v1Port parses 1 to 5 decimal digits up to 65535; leading zeros are
// allowed, signs are not.
func v1Port(f []byte) (uint16, error) {
	p, ok := decimal(f, 5)
	if !ok || p > 0xffff {
		return 0, errV1Port
	}
	return uint16(p), nil
}

// checkV1Growing checks field i while it is still arriving: it must hold
// only bytes its kind may hold, and no more of them than the longest text.
func checkV1Growing(f []byte, i int, v6 bool) error {
	chars, longest := "0123456789", len("65535")
	switch {
	case i < 2 && v6:
		chars, longest = "0123456789abcdefABCDEF:.", len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")
	case i < 2:
		chars, longest = "0123456789.", len("255.255.255.255")
	}
	switch {
	case len(f) <= longest && only(f, chars):
		return nil
	case i < 2:
		return errV1Addr
	}
	return errV1Port
}

// only reports whether every byte of f is in chars.
func only(f []byte, chars string) bool {
	for _, c := range f {
		if strings.IndexByte(chars, c) < 0 {
			return false
		}
	}
	return true
}

// Address text is parsed here rather than by netip.ParseAddr, which takes
// a string: converting each field would allocate. The rules are netip's:
// IPv4 as four decimal octets without leading zeros, IPv6 as in RFC 4291
// §2.2 with an optional IPv4 address at the end, no zone.

func parseIPv4(s []byte) (ip [4]byte, ok bool) {
	for i := range ip {
		f, rest, more := bytes.Cut(s, []byte{'.'})
		n, ok := decimal(f, 3)
		if !ok || n > 255 || len(f) > 1 && f[0] == '0' || more == (i == 3) {
			return ip, false
		}
		ip[i], s = byte(n), rest
	}
	return ip, true
}

func parseIPv6(s []byte) (ip [16]byte, ok bool) {
	head, tail, ellipsis := bytes.Cut(s, []byte("::"))
	n, headOK := ipv6Groups(ip[:], head, !ellipsis)
	if !ellipsis {
		return ip, headOK && n == len(ip)
	}
	var back [16]byte
	m, tailOK := ipv6Groups(back[:], tail, true)
	copy(ip[len(ip)-m:], back[:m])
	return ip, headOK && tailOK && n+m <= len(ip)-2 // "::" is at least one group
}

// ipv6Groups parses colon-separated groups of 1 to 4 hex digits into dst,
// and returns the bytes written. An IPv4 address may end them when v4Last.
func ipv6Groups(dst, s []byte, v4Last bool) (int, bool) {
	n := 0
	for more := len(s) > 0; more; n += 2 {
		var g []byte
		g, s, more = bytes.Cut(s, []byte{':'})
		if !more && v4Last && bytes.IndexByte(g, '.') >= 0 {
			ip, ok := parseIPv4(g)
			return n + copy(dst[n:], ip[:]), ok && n+len(ip) <= len(dst)
		}
		v, ok := hexGroup(g)
		if !ok || n+2 > len(dst) {
			return n, false
		}
		dst[n], dst[n+1] = byte(v>>8), byte(v)
	}
	return n, true
}

func hexGroup(g []byte) (uint16, bool) {
	if len(g) == 0 || len(g) > 4 {
		return 0, false
	}
	var v uint16
	for _, c := range g {
		d, ok := hexDigit(c)
		if !ok {
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decimal parses 1 to max decimal digits.
func decimal(f []byte, max int) (int, bool) {
	if len(f) == 0 || len(f) > max {
		return 0, false
	}
	n := 0
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// okIf is nil when ok, else err.
func okIf(ok bool, err error) error {
	if ok {
		return nil
	}
	return err
}

// Version 2 (§2.2): the 12-byte signature, a version and command byte, a
// family and transport byte, the length of the address block (big endian),
// then the block: addresses, ports, TLVs.

const (
	v2Signature   = "\r\n\r\n\x00\r\nQUIT\n"
	v2PreambleLen = 16
	v2MaxBlock    = 4096
	v2Local       = 0x20 // version 2, command LOCAL
	v2Proxy       = 0x21 // version 2, command PROXY
)

// Family and transport bytes accepted with the PROXY command.
const (
	v2Unspec = 0x00 // AF_UNSPEC: no addresses, treated as LOCAL
	v2TCP4   = 0x11 // AF_INET, STREAM
	v2TCP6   = 0x21 // AF_INET6, STREAM
	v2Unix   = 0x31 // AF_UNIX, STREAM: paths, not addresses; treated as LOCAL
)

func parseV2(b []byte) (ProxyHeader, int, error) {
	if err := checkV2Preamble(b); err != nil || len(b) < v2PreambleLen {
		return ProxyHeader{}, 0, err
	}
	n := v2PreambleLen + int(binary.BigEndian.Uint16(b[14:]))
	if len(b) < n {
		return ProxyHeader{}, 0, nil
	}
	return v2Addresses(b[12], b[13], b[v2PreambleLen:n]), n, nil
}

// checkV2Preamble checks each byte of the preamble that has arrived.
func checkV2Preamble(b []byte) error {
	if !startsWith(b, v2Signature) {
		return errProxySignature
	}
	if len(b) > 12 {
		if err := checkV2Command(b[12]); err != nil {
			return err
		}
	}
	if len(b) > 13 && b[12] == v2Proxy {
		if _, err := v2MinBlock(b[13]); err != nil {
			return err
		}
	}
	if len(b) < v2PreambleLen {
		return nil
	}
	return checkV2Length(b[12], b[13], int(binary.BigEndian.Uint16(b[14:])))
}

func checkV2Command(c byte) error {
	switch {
	case c>>4 != 2:
		return errV2Version
	case c != v2Local && c != v2Proxy:
		return errV2Command
	}
	return nil
}

// v2MinBlock is the length of the addresses of family fam (§2.2: 12 for
// IPv4, 36 for IPv6, 216 for UNIX paths).
func v2MinBlock(fam byte) (int, error) {
	switch fam {
	case v2Unspec:
		return 0, nil
	case v2TCP4:
		return 12, nil
	case v2TCP6:
		return 36, nil
	case v2Unix:
		return 216, nil
	}
	return 0, errV2Family
}

// checkV2Length: LOCAL ignores the family (§2.2), PROXY needs its
// addresses; both are bounded by v2MaxBlock.
func checkV2Length(cmd, fam byte, n int) error {
	if n > v2MaxBlock {
		return errV2TooLong
	}
	if need, _ := v2MinBlock(fam); cmd == v2Proxy && n < need {
		return errV2Short
	}
	return nil
}

// v2Addresses reads the addresses of a checked block.
func v2Addresses(cmd, fam byte, block []byte) ProxyHeader {
	h := ProxyHeader{Version: 2}
	switch {
	case cmd == v2Local, fam != v2TCP4 && fam != v2TCP6:
		h.Local = true
	case fam == v2TCP4:
		h.Source = v2AddrPort(netip.AddrFrom4([4]byte(block[0:4])), block[8:])
		h.Dest = v2AddrPort(netip.AddrFrom4([4]byte(block[4:8])), block[10:])
	default:
		h.Source = v2AddrPort(netip.AddrFrom16([16]byte(block[0:16])), block[32:])
		h.Dest = v2AddrPort(netip.AddrFrom16([16]byte(block[16:32])), block[34:])
	}
	return h
}

func v2AddrPort(a netip.Addr, port []byte) netip.AddrPort {
	return netip.AddrPortFrom(a, binary.BigEndian.Uint16(port))
}
