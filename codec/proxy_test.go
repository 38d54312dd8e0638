package codec_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/wshub/wshub/codec"
)

// proxyV2Sig is the v2 signature (proxy-protocol.txt §2.2).
const proxyV2Sig = "\r\n\r\n\x00\r\nQUIT\n"

// proxyV2 builds a v2 header whose length field counts block.
func proxyV2(verCmd, fam byte, block ...string) string {
	b := strings.Join(block, "")
	return proxyV2Len(verCmd, fam, len(b), b)
}

// proxyV2Len builds a v2 header with any length field, followed by block.
func proxyV2Len(verCmd, fam byte, length int, block string) string {
	return proxyV2Sig + string([]byte{verCmd, fam}) + string(binary.BigEndian.AppendUint16(nil, uint16(length))) + block
}

// proxyIP is an address as the bytes of a v2 block: 4 for IPv4 text, 16
// for IPv6.
func proxyIP(s string) string {
	a := netip.MustParseAddr(s)
	return string(a.AsSlice())
}

// proxyPort is a port as the 2 bytes of a v2 block.
func proxyPort(p uint16) string { return string(binary.BigEndian.AppendUint16(nil, p)) }

func proxyAddr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// proxyTail follows every header in the tests: it must not be consumed.
const proxyTail = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"

// proxyValid are complete headers and what they say.
var proxyValid = []struct {
	name string
	in   string
	want codec.ProxyHeader
}{
	{
		name: "v1 TCP4",
		in:   "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
		want: codec.ProxyHeader{Version: 1, Source: proxyAddr("192.0.2.1:56324"), Dest: proxyAddr("198.51.100.2:443")},
	},
	{
		name: "v1 TCP6",
		in:   "PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n",
		want: codec.ProxyHeader{Version: 1, Source: proxyAddr("[2001:db8::1]:56324"), Dest: proxyAddr("[2001:db8::2]:443")},
	},
	{
		name: "v1 TCP6 with IPv4-mapped addresses, kept as given",
		in:   "PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 1 2\r\n",
		want: codec.ProxyHeader{Version: 1, Source: proxyAddr("[::ffff:192.0.2.1]:1"), Dest: proxyAddr("[::ffff:198.51.100.2]:2")},
	},
	{
		name: "v1 ports 0 and 65535",
		in:   "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
		want: codec.ProxyHeader{Version: 1, Source: proxyAddr("0.0.0.0:0"), Dest: proxyAddr("255.255.255.255:65535")},
	},
	{
		name: "v1 port with leading zeros",
		in:   "PROXY TCP4 192.0.2.1 192.0.2.2 00080 00443\r\n",
		want: codec.ProxyHeader{Version: 1, Source: proxyAddr("192.0.2.1:80"), Dest: proxyAddr("192.0.2.2:443")},
	},
	{
		name: "v1 longest TCP6 line (104 bytes)",
		in:   "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
		want: codec.ProxyHeader{
			Version: 1,
			Source:  proxyAddr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
			Dest:    proxyAddr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
		},
	},
	{
		name: "v1 UNKNOWN",
		in:   "PROXY UNKNOWN\r\n",
		want: codec.ProxyHeader{Version: 1, Local: true},
	},
	{
		name: "v1 UNKNOWN with the worst case of the spec",
		in:   "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
		want: codec.ProxyHeader{Version: 1, Local: true},
	},
	{
		name: "v1 UNKNOWN with anything before the CRLF, 107 bytes in all",
		in:   "PROXY UNKNOWN " + strings.Repeat("x\r", 45) + "x\r\n",
		want: codec.ProxyHeader{Version: 1, Local: true},
	},
	{
		name: "v2 PROXY TCP4",
		in:   proxyV2(0x21, 0x11, proxyIP("192.0.2.1"), proxyIP("198.51.100.2"), proxyPort(56324), proxyPort(443)),
		want: codec.ProxyHeader{Version: 2, Source: proxyAddr("192.0.2.1:56324"), Dest: proxyAddr("198.51.100.2:443")},
	},
	{
		name: "v2 PROXY TCP6",
		in:   proxyV2(0x21, 0x21, proxyIP("2001:db8::1"), proxyIP("2001:db8::2"), proxyPort(56324), proxyPort(443)),
		want: codec.ProxyHeader{Version: 2, Source: proxyAddr("[2001:db8::1]:56324"), Dest: proxyAddr("[2001:db8::2]:443")},
	},
	{
		name: "v2 PROXY TCP6 with IPv4-mapped addresses, kept as given",
		in:   proxyV2(0x21, 0x21, proxyIP("::ffff:192.0.2.1"), proxyIP("::ffff:192.0.2.2"), proxyPort(1), proxyPort(2)),
		want: codec.ProxyHeader{Version: 2, Source: proxyAddr("[::ffff:192.0.2.1]:1"), Dest: proxyAddr("[::ffff:192.0.2.2]:2")},
	},
	{
		name: "v2 PROXY TCP4 with TLVs, skipped",
		in: proxyV2(0x21, 0x11, proxyIP("192.0.2.1"), proxyIP("198.51.100.2"), proxyPort(1), proxyPort(2),
			"\x01\x00\x02h2", "\x04\x00\x03\x00\x00\x00"),
		want: codec.ProxyHeader{Version: 2, Source: proxyAddr("192.0.2.1:1"), Dest: proxyAddr("198.51.100.2:2")},
	},
	{
		name: "v2 PROXY TCP4 with the longest block",
		in: proxyV2(0x21, 0x11, proxyIP("192.0.2.1"), proxyIP("198.51.100.2"), proxyPort(1), proxyPort(2),
			"\x04\x0f\xf1", strings.Repeat("\x00", 4096-12-3)),
		want: codec.ProxyHeader{Version: 2, Source: proxyAddr("192.0.2.1:1"), Dest: proxyAddr("198.51.100.2:2")},
	},
	{
		name: "v2 LOCAL, empty",
		in:   proxyV2(0x20, 0x00),
		want: codec.ProxyHeader{Version: 2, Local: true},
	},
	{
		name: "v2 LOCAL with TCP4 addresses, ignored",
		in:   proxyV2(0x20, 0x11, proxyIP("192.0.2.1"), proxyIP("198.51.100.2"), proxyPort(1), proxyPort(2)),
		want: codec.ProxyHeader{Version: 2, Local: true},
	},
	{
		name: "v2 LOCAL ignores the family, even an unknown one with a short block",
		in:   proxyV2(0x20, 0xff, "abc"),
		want: codec.ProxyHeader{Version: 2, Local: true},
	},
	{
		name: "v2 PROXY UNSPEC is local",
		in:   proxyV2(0x21, 0x00),
		want: codec.ProxyHeader{Version: 2, Local: true},
	},
	{
		name: "v2 PROXY UNIX STREAM is local",
		in:   proxyV2(0x21, 0x31, strings.Repeat("\x00", 216)),
		want: codec.ProxyHeader{Version: 2, Local: true},
	},
}

// proxyInvalid are refused, each as soon as its last byte arrives: in is
// the shortest input that shows the fault, unless noted.
var proxyInvalid = []struct {
	name string
	in   string
	err  string // in the message
}{
	{name: "HTTP request", in: "G", err: "no v1 or v2 signature"},
	{name: "POST", in: "PO", err: "no v1 or v2 signature"},
	{name: "PRI of HTTP/2", in: "PRI", err: "no v1 or v2 signature"},
	{name: "lower-case proxy", in: "p", err: "no v1 or v2 signature"},
	{name: "v1 without the space", in: "PROXYT", err: "no v1 or v2 signature"},
	{name: "TLS ClientHello", in: "\x16", err: "no v1 or v2 signature"},
	{name: "v2 signature broken in its last byte", in: "\r\n\r\n\x00\r\nQUIT\r", err: "no v1 or v2 signature"},
	{name: "v2 signature broken early", in: "\r\n\r\r", err: "no v1 or v2 signature"},

	{name: "v1 protocol TCP5", in: "PROXY TCP5", err: "protocol"},
	{name: "v1 protocol lower case", in: "PROXY t", err: "protocol"},
	{name: "v1 protocol UDP4", in: "PROXY UD", err: "protocol"},
	{name: "v1 protocol UNKNOWNX", in: "PROXY UNKNOWNX", err: "protocol"},
	{name: "v1 UNKNOWN then CR without LF", in: "PROXY UNKNOWN\rx", err: "protocol"},
	{name: "v1 protocol missing", in: "PROXY \r", err: "protocol"},
	{name: "v1 two spaces before the protocol", in: "PROXY  ", err: "protocol"},
	{name: "v1 TCP4 without fields", in: "PROXY TCP4\r", err: "protocol"},
	{name: "v1 line over 107 bytes", in: "PROXY UNKNOWN " + strings.Repeat("x", 93), err: "over 107 bytes"},
	{name: "v1 106 bytes not ending in CR", in: "PROXY UNKNOWN " + strings.Repeat("x", 92), err: "over 107 bytes"},
	{name: "v1 CRLF at byte 108", in: "PROXY UNKNOWN " + strings.Repeat("x", 92) + "\r\n", err: "over 107 bytes"},
	{name: "v1 bare LF", in: "PROXY UNKNOWN\n", err: "CRLF"},
	{name: "v1 TCP4 bare LF", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n", err: "CRLF"},
	{name: "v1 TCP4 CR inside", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\rx", err: "port"},
	{name: "v1 TCP4 three fields", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1\r", err: "4 fields"},
	{name: "v1 TCP4 five fields", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 ", err: "4 fields"},
	{name: "v1 TCP4 trailing space", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r", err: "4 fields"},
	{name: "v1 TCP4 two spaces", in: "PROXY TCP4 192.0.2.1  ", err: "address"},
	{name: "v1 TCP4 leading space", in: "PROXY TCP4  ", err: "address"},
	{name: "v1 TCP4 tab", in: "PROXY TCP4 192.0.2.1\t", err: "address"},
	{name: "v1 TCP4 with IPv6 addresses", in: "PROXY TCP4 2001:", err: "address"},
	{name: "v1 TCP4 with IPv6 addresses, complete", in: "PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n", err: "address"},
	{name: "v1 TCP4 with mapped addresses", in: "PROXY TCP4 ::ffff:192.0.2.1 ::ffff:192.0.2.2 1 2\r\n", err: "address"},
	{name: "v1 TCP6 with IPv4 addresses", in: "PROXY TCP6 192.0.2.1 ", err: "address"},
	{name: "v1 TCP4 octet over 255", in: "PROXY TCP4 256.0.2.1 ", err: "address"},
	{name: "v1 TCP4 octet with a leading zero", in: "PROXY TCP4 192.0.2.01 ", err: "address"},
	{name: "v1 TCP4 three octets", in: "PROXY TCP4 192.0.2 ", err: "address"},
	{name: "v1 TCP4 address too long to complete", in: "PROXY TCP4 192.000.002.0012", err: "address"},
	{name: "v1 TCP4 host name", in: "PROXY TCP4 l", err: "address"},
	{name: "v1 TCP6 zone", in: "PROXY TCP6 fe80::1%", err: "address"},
	{name: "v1 TCP6 zone, complete", in: "PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n", err: "address"},
	{name: "v1 TCP6 bad address", in: "PROXY TCP6 2001:db8:::1 ", err: "address"},
	{name: "v1 port 65536", in: "PROXY TCP4 192.0.2.1 192.0.2.2 65536 ", err: "port"},
	{name: "v1 port 65536 last", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 65536\r", err: "port"},
	{name: "v1 port of 6 digits", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 000001", err: "port"},
	{name: "v1 port with +", in: "PROXY TCP4 192.0.2.1 192.0.2.2 +", err: "port"},
	{name: "v1 port with -", in: "PROXY TCP4 192.0.2.1 192.0.2.2 -", err: "port"},
	{name: "v1 port in hex", in: "PROXY TCP4 192.0.2.1 192.0.2.2 0x", err: "port"},
	{name: "v1 port with +, complete", in: "PROXY TCP4 192.0.2.1 192.0.2.2 +1 2\r\n", err: "port"},

	{name: "v2 version 1", in: proxyV2Sig + "\x11", err: "version"},
	{name: "v2 version 3", in: proxyV2Sig + "\x31", err: "version"},
	{name: "v2 command 2", in: proxyV2Sig + "\x22", err: "command"},
	{name: "v2 command 15", in: proxyV2Sig + "\x2f", err: "command"},
	{name: "v2 PROXY UDP4", in: proxyV2Sig + "\x21\x12", err: "family"},
	{name: "v2 PROXY UDP6", in: proxyV2Sig + "\x21\x22", err: "family"},
	{name: "v2 PROXY UNIX DGRAM", in: proxyV2Sig + "\x21\x32", err: "family"},
	{name: "v2 PROXY INET without transport", in: proxyV2Sig + "\x21\x10", err: "family"},
	{name: "v2 PROXY UNSPEC STREAM", in: proxyV2Sig + "\x21\x01", err: "family"},
	{name: "v2 PROXY family 4", in: proxyV2Sig + "\x21\x41", err: "family"},
	{name: "v2 block over 4096 bytes", in: proxyV2Len(0x21, 0x11, 4097, ""), err: "over 4096"},
	{name: "v2 LOCAL block over 4096 bytes", in: proxyV2Len(0x20, 0x00, 0xffff, ""), err: "over 4096"},
	{name: "v2 TCP4 block of 11 bytes", in: proxyV2Len(0x21, 0x11, 11, ""), err: "too short"},
	{name: "v2 TCP6 block of 12 bytes", in: proxyV2Len(0x21, 0x21, 12, ""), err: "too short"},
	{name: "v2 TCP6 block of 35 bytes", in: proxyV2Len(0x21, 0x21, 35, ""), err: "too short"},
	{name: "v2 UNIX block of 215 bytes", in: proxyV2Len(0x21, 0x31, 215, ""), err: "too short"},
}

func TestParseProxyHeader(t *testing.T) {
	t.Parallel()
	for _, c := range proxyValid {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h, n, err := codec.ParseProxyHeader([]byte(c.in + proxyTail))
			if err != nil || n != len(c.in) || h != c.want {
				t.Fatalf("got %+v, %d, %v; want %+v, %d, nil", h, n, err, c.want, len(c.in))
			}
			if len(c.in) > codec.MaxProxyHeaderBytes {
				t.Errorf("%d bytes, over MaxProxyHeaderBytes", len(c.in))
			}
		})
	}
}

// TestParseProxyHeaderPrefixes: every prefix of a valid header is "need
// more", never an error or a header.
func TestParseProxyHeaderPrefixes(t *testing.T) {
	t.Parallel()
	for _, c := range proxyValid {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for k := range len(c.in) {
				h, n, err := codec.ParseProxyHeader([]byte(c.in[:k]))
				if err != nil || n != 0 || h != (codec.ProxyHeader{}) {
					t.Fatalf("first %d bytes %q: got %+v, %d, %v; want need more", k, c.in[:k], h, n, err)
				}
			}
		})
	}
}

func TestParseProxyHeaderInvalid(t *testing.T) {
	t.Parallel()
	for _, c := range proxyInvalid {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Refused as it stands, and whatever follows (perhaps for
			// another fault).
			for _, in := range []string{c.in, c.in + "\r\n" + proxyTail} {
				h, n, err := codec.ParseProxyHeader([]byte(in))
				if !errors.Is(err, codec.ErrProxyHeader) || n != 0 || h != (codec.ProxyHeader{}) {
					t.Fatalf("%q: got %+v, %d, %v; want ErrProxyHeader", in, h, n, err)
				}
			}
			_, _, err := codec.ParseProxyHeader([]byte(c.in))
			if msg := err.Error(); !strings.HasPrefix(msg, "codec: ") || !strings.Contains(msg, c.err) {
				t.Errorf("error %q does not say %q", msg, c.err)
			}
		})
	}
}

// TestParseProxyHeaderIncomplete: inputs that could still grow into a
// valid header wait for more.
func TestParseProxyHeaderIncomplete(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
	}{
		{name: "nothing", in: ""},
		{name: "v1 signature", in: "PROXY "},
		{name: "v1 protocol started", in: "PROXY TC"},
		{name: "v1 address started", in: "PROXY TCP4 192.0.2."},
		{name: "v1 IPv6 address started", in: "PROXY TCP6 2001:db8:"},
		{name: "v1 last port started", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 6553"},
		{name: "v1 CR without LF yet", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r"},
		{name: "v1 UNKNOWN with garbage", in: "PROXY UNKNOWN \x00\xff garbage"},
		{name: "v1 106 bytes ending in CR", in: "PROXY UNKNOWN " + strings.Repeat("x", 91) + "\r"},
		{name: "v2 signature started", in: proxyV2Sig[:5]},
		{name: "v2 preamble", in: proxyV2Len(0x21, 0x11, 12, "")},
		{name: "v2 longest block announced", in: proxyV2Len(0x21, 0x11, 4096, strings.Repeat("\x00", 4095))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h, n, err := codec.ParseProxyHeader([]byte(c.in))
			if err != nil || n != 0 || h != (codec.ProxyHeader{}) {
				t.Fatalf("got %+v, %d, %v; want need more", h, n, err)
			}
		})
	}
}

// TestParseProxyHeaderV1Addresses: v1 address text is parsed by hand, to
// the rules of netip.ParseAddr (without zones).
func TestParseProxyHeaderV1Addresses(t *testing.T) {
	t.Parallel()
	v6 := []string{
		"::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
		"1:2:3:4::5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1::2::3", ":::", "1:::2",
		":1::", "::1:", "1:", ":1", "12345::", "0001:02:3:4::", "abcd:EF01::", "g::",
		"::ffff:192.0.2.1", "::192.0.2.1", "1:2:3:4:5:6:192.0.2.1", "1:2:3:4:5:6:7:192.0.2.1",
		"1:2:3:4:5::192.0.2.1", "1:2:3:4:5:6::192.0.2.1", "192.0.2.1::", "::192.0.2", "::192.0.2.01",
		"::192.0.2.1:1", "::ffff:1.2.3.4.5", "1.2.3.4", "::.", "::1.", "",
	}
	for _, s := range v6 {
		checkV1Addr(t, "TCP6", s)
	}
	v4 := []string{
		"0.0.0.0", "255.255.255.255", "256.0.0.0", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04",
		"1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4a", "0x1.2.3.4", "1.2.3.-4", "", "::1",
	}
	for _, s := range v4 {
		checkV1Addr(t, "TCP4", s)
	}
}

// checkV1Addr parses a v1 line with s as its source address and compares
// with netip.
func checkV1Addr(t *testing.T, proto, s string) {
	t.Helper()
	other := map[string]string{"TCP4": "192.0.2.2", "TCP6": "2001:db8::2"}[proto]
	h, _, err := codec.ParseProxyHeader([]byte("PROXY " + proto + " " + s + " " + other + " 1 2\r\n"))
	want, werr := netip.ParseAddr(s)
	if werr == nil && want.Is6() != (proto == "TCP6") {
		werr = errors.New("wrong family")
	}
	switch {
	case (err == nil) != (werr == nil):
		t.Errorf("%s %q: got error %v, netip %v", proto, s, err, werr)
	case err == nil && h.Source.Addr() != want:
		t.Errorf("%s %q: got %v, netip %v", proto, s, h.Source.Addr(), want)
	}
}

// TestProxyHeaderAllocs pins parsing to zero allocations, of a valid header
// or a refusal. Not parallel: AllocsPerRun counts every goroutine's
// allocations.
func TestProxyHeaderAllocs(t *testing.T) {
	for _, c := range proxyValid {
		in := []byte(c.in)
		allocs := testing.AllocsPerRun(100, func() {
			if _, _, err := codec.ParseProxyHeader(in); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per parse, want 0", c.name, allocs)
		}
	}
	for _, c := range proxyInvalid {
		in := []byte(c.in)
		if allocs := testing.AllocsPerRun(100, func() { codec.ParseProxyHeader(in) }); allocs != 0 {
			t.Errorf("%s: %v allocations per refusal, want 0", c.name, allocs)
		}
	}
}

func BenchmarkParseProxyHeader(b *testing.B) {
	for _, c := range []struct{ name, in string }{
		{name: "v1 TCP4", in: proxyValid[0].in},
		{name: "v1 TCP6", in: proxyValid[1].in},
		{name: "v2 TCP4", in: proxyValid[9].in},
		{name: "v2 TCP6", in: proxyValid[10].in},
		{name: "invalid", in: "GET / HTTP/1.1\r\n"},
	} {
		in := []byte(c.in)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				codec.ParseProxyHeader(in)
			}
		})
	}
}

// An event loop parses the header from the start of its inbound buffer,
// discards it, and hands the rest to ParseRequest.
func ExampleParseProxyHeader() {
	in := []byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n")
	h, n, err := codec.ParseProxyHeader(in)
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Version, h.Source, h.Dest)
	fmt.Printf("%q\n", in[n:])
	// Output:
	// 1 192.0.2.1:56324 198.51.100.2:443
	// "GET / HTTP/1.1\r\n"
}
