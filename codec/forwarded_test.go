package codec_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/wshub/wshub/codec"
)

// proxyNets is the trusted list of most ClientAddr cases.
const proxyNets = "10.0.0.0/8, fd00::/8"

// clientAddrCases drive TestClientAddr and seed FuzzClientAddr. Forwarded
// and X-Forwarded-For hold one string per header line; nil is no header.
var clientAddrCases = []struct {
	name      string
	peer      string
	forwarded []string
	xff       []string
	trusted   string // for ParseTrusted
	want      string
}{
	{name: "untrusted peer, headers ignored", peer: "203.0.113.9", xff: []string{"198.51.100.7"}, forwarded: []string{"for=198.51.100.8"}, trusted: proxyNets, want: "203.0.113.9"},
	{name: "no trusted proxies", peer: "10.0.0.1", xff: []string{"198.51.100.7"}, trusted: "", want: "10.0.0.1"},
	{name: "trusted peer, no headers", peer: "10.0.0.1", trusted: proxyNets, want: "10.0.0.1"},
	{name: "untrusted IPv4-mapped peer, unmapped", peer: "::ffff:203.0.113.9", xff: []string{"198.51.100.7"}, trusted: proxyNets, want: "203.0.113.9"},
	{name: "trusted IPv4-mapped peer", peer: "::ffff:10.0.0.1", xff: []string{"198.51.100.7"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "trusted IPv6 peer", peer: "fd00::1", xff: []string{"2001:db8::7"}, trusted: proxyNets, want: "2001:db8::7"},
	{name: "trusted peer with a zone", peer: "fe80::1%eth0", xff: []string{"198.51.100.7"}, trusted: "fe80::/10", want: "198.51.100.7"},

	{name: "XFF one client", peer: "10.0.0.1", xff: []string{"198.51.100.7"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF trusted hops skipped", peer: "10.0.0.1", xff: []string{"198.51.100.7, 10.0.0.2, 10.0.0.3"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF spoofed entries left of the client", peer: "10.0.0.1", xff: []string{"6.6.6.6, 7.7.7.7, 198.51.100.7, 10.0.0.2"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF spoofed trusted address left of the client", peer: "10.0.0.1", xff: []string{"10.9.9.9, 198.51.100.7"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF several lines", peer: "10.0.0.1", xff: []string{"6.6.6.6, 198.51.100.7", "10.0.0.2", "10.0.0.3"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF every hop trusted: the leftmost", peer: "10.0.0.1", xff: []string{"10.0.0.5, 10.0.0.4", "fd00::3"}, trusted: proxyNets, want: "10.0.0.5"},
	{name: "XFF without spaces", peer: "10.0.0.1", xff: []string{"198.51.100.7,10.0.0.2"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF tabs and spaces", peer: "10.0.0.1", xff: []string{" 198.51.100.7 ,\t10.0.0.2\t"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF IPv4 with port", peer: "10.0.0.1", xff: []string{"198.51.100.7:5555, 10.0.0.2:80"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF IPv6", peer: "10.0.0.1", xff: []string{"2001:db8::7, fd00::2"}, trusted: proxyNets, want: "2001:db8::7"},
	{name: "XFF IPv6 in brackets with port", peer: "10.0.0.1", xff: []string{"[2001:db8::7]:443"}, trusted: proxyNets, want: "2001:db8::7"},
	{name: "XFF IPv4-mapped client, unmapped", peer: "10.0.0.1", xff: []string{"::ffff:198.51.100.7"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF IPv4-mapped trusted hop", peer: "10.0.0.1", xff: []string{"198.51.100.7, ::ffff:10.0.0.2"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF malformed entry stops the walk at the hop to its right", peer: "10.0.0.1", xff: []string{"198.51.100.7, not-an-ip, 10.0.0.2"}, trusted: proxyNets, want: "10.0.0.2"},
	{name: "XFF malformed last entry: the peer", peer: "10.0.0.1", xff: []string{"198.51.100.7, garbage"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "XFF malformed entry left of the client does not matter", peer: "10.0.0.1", xff: []string{"garbage, 198.51.100.7"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "XFF malformed entry left of trusted hops", peer: "10.0.0.1", xff: []string{"garbage, 10.0.0.3, 10.0.0.2"}, trusted: proxyNets, want: "10.0.0.3"},
	{name: "XFF unknown", peer: "10.0.0.1", xff: []string{"unknown"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "XFF empty entry", peer: "10.0.0.1", xff: []string{"198.51.100.7,, 10.0.0.2"}, trusted: proxyNets, want: "10.0.0.2"},
	{name: "XFF empty line", peer: "10.0.0.1", xff: []string{""}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "XFF empty line after the client", peer: "10.0.0.1", xff: []string{"198.51.100.7", ""}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "XFF zone", peer: "10.0.0.1", xff: []string{"fe80::7%eth0"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "XFF leading zero", peer: "10.0.0.1", xff: []string{"198.051.100.7"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "XFF quotes are not syntax", peer: "10.0.0.1", xff: []string{`"x, 198.51.100.7`}, trusted: proxyNets, want: "198.51.100.7"},

	{name: "Forwarded one client", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded quoted", peer: "10.0.0.1", forwarded: []string{`for="198.51.100.7"`}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded parameter names in any case", peer: "10.0.0.1", forwarded: []string{"FOR=198.51.100.7;Proto=https"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded IPv6 of RFC 7239 §4", peer: "10.0.0.1", forwarded: []string{`For="[2001:db8:cafe::17]:4711"`}, trusted: proxyNets, want: "2001:db8:cafe::17"},
	{name: "Forwarded other parameters", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7;proto=https;by=203.0.113.43;host=example.com"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded for not first", peer: "10.0.0.1", forwarded: []string{"proto=http;for=198.51.100.7"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded spaces around pairs and elements", peer: "10.0.0.1", forwarded: []string{" for=198.51.100.7 ; proto=https ,\tfor=10.0.0.2 "}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded empty pair", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7;;proto=https;"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded trusted hops skipped", peer: "10.0.0.1", forwarded: []string{`for=198.51.100.7, for=10.0.0.2, for="[fd00::3]"`}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded spoofed elements left of the client", peer: "10.0.0.1", forwarded: []string{"for=6.6.6.6, for=198.51.100.7, for=10.0.0.2"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded several lines", peer: "10.0.0.1", forwarded: []string{"for=6.6.6.6", "for=198.51.100.7", "for=10.0.0.2"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded every hop trusted: the leftmost", peer: "10.0.0.1", forwarded: []string{"for=10.0.0.3, for=10.0.0.2"}, trusted: proxyNets, want: "10.0.0.3"},
	{name: "Forwarded wins over X-Forwarded-For", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7"}, xff: []string{"198.51.100.8"}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded malformed, X-Forwarded-For not used", peer: "10.0.0.1", forwarded: []string{"for"}, xff: []string{"198.51.100.8"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded IPv4 with port", peer: "10.0.0.1", forwarded: []string{`for="198.51.100.7:5555"`}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded obfuscated port", peer: "10.0.0.1", forwarded: []string{`for="198.51.100.7:_p-1.x"`}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded IPv4-mapped, unmapped", peer: "10.0.0.1", forwarded: []string{`for="[::ffff:198.51.100.7]"`}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded quoted-pair", peer: "10.0.0.1", forwarded: []string{`for="\1\9\8.51.100.7"`}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded comma and semicolon in a quoted value", peer: "10.0.0.1", forwarded: []string{`for=198.51.100.7;ext="a,b;c", for=10.0.0.2`}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded escaped quote in a quoted value", peer: "10.0.0.1", forwarded: []string{`for=198.51.100.7;ext="a\",b", for=10.0.0.2`}, trusted: proxyNets, want: "198.51.100.7"},
	{name: "Forwarded unknown stops the walk", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7, for=unknown, for=10.0.0.2"}, trusted: proxyNets, want: "10.0.0.2"},
	{name: "Forwarded UNKNOWN stops the walk", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7, for=UNKNOWN"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded obfuscated node stops the walk", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7, for=_hidden, for=10.0.0.2"}, trusted: proxyNets, want: "10.0.0.2"},
	{name: "Forwarded obfuscated node and port", peer: "10.0.0.1", forwarded: []string{`for="_gazonk:_42"`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded element without for", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7, proto=https, for=10.0.0.2"}, trusted: proxyNets, want: "10.0.0.2"},
	{name: "Forwarded for twice in an element", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7;for=10.0.0.3"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded empty element", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7,,for=10.0.0.2"}, trusted: proxyNets, want: "10.0.0.2"},
	{name: "Forwarded empty line", peer: "10.0.0.1", forwarded: []string{""}, xff: []string{"198.51.100.8"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded unquoted IPv6", peer: "10.0.0.1", forwarded: []string{"for=[2001:db8::7]"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded unquoted port", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7:80"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded IPv6 without brackets", peer: "10.0.0.1", forwarded: []string{`for="2001:db8::7"`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded IPv4 in brackets", peer: "10.0.0.1", forwarded: []string{`for="[198.51.100.7]"`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded unclosed bracket", peer: "10.0.0.1", forwarded: []string{`for="[2001:db8::7"`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded text after the bracket", peer: "10.0.0.1", forwarded: []string{`for="[2001:db8::7]x"`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded zone", peer: "10.0.0.1", forwarded: []string{`for="[fe80::7%25eth0]"`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded port of 6 digits", peer: "10.0.0.1", forwarded: []string{`for="198.51.100.7:123456"`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded empty port", peer: "10.0.0.1", forwarded: []string{`for="198.51.100.7:"`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded bad obfuscated port", peer: "10.0.0.1", forwarded: []string{`for="198.51.100.7:_a+b"`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded unterminated quote", peer: "10.0.0.1", forwarded: []string{`for="198.51.100.7, for=10.0.0.2`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded text after the closing quote", peer: "10.0.0.1", forwarded: []string{`for="198.51.100.7"x`}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded control character in quotes", peer: "10.0.0.1", forwarded: []string{"for=\"198.51.100.7\x01\""}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded malformed other parameter", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7;proto=ht tps"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded pair without =", peer: "10.0.0.1", forwarded: []string{"for=198.51.100.7;secure"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded empty name", peer: "10.0.0.1", forwarded: []string{"=x;for=198.51.100.7"}, trusted: proxyNets, want: "10.0.0.1"},
	{name: "Forwarded space around =", peer: "10.0.0.1", forwarded: []string{"for = 198.51.100.7"}, trusted: proxyNets, want: "10.0.0.1"},
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	for _, c := range clientAddrCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			trusted, err := codec.ParseTrusted(c.trusted)
			if err != nil {
				t.Fatal(err)
			}
			got := codec.ClientAddr(netip.MustParseAddr(c.peer), clientAddrHeader(c.forwarded, c.xff), trusted)
			if want := netip.MustParseAddr(c.want); got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// TestClientAddrMappedPrefix: a trusted list built by hand, with an
// IPv4-mapped prefix, still matches IPv4 peers and hops.
func TestClientAddrMappedPrefix(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}
	h := clientAddrHeader(nil, []string{"198.51.100.7, 10.0.0.2"})
	if got, want := codec.ClientAddr(netip.MustParseAddr("10.0.0.1"), h, trusted), netip.MustParseAddr("198.51.100.7"); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func clientAddrHeader(forwarded, xff []string) http.Header {
	h := http.Header{"Host": {"example.com"}}
	if forwarded != nil {
		h["Forwarded"] = forwarded
	}
	if xff != nil {
		h["X-Forwarded-For"] = xff
	}
	return h
}

// TestClientAddrAllocs pins ClientAddr to zero allocations on headers
// without quoted-pairs. Not parallel: AllocsPerRun counts every
// goroutine's allocations.
func TestClientAddrAllocs(t *testing.T) {
	trusted, _ := codec.ParseTrusted(proxyNets)
	peer := netip.MustParseAddr("10.0.0.1")
	for _, h := range []http.Header{
		clientAddrHeader(nil, []string{"6.6.6.6, 198.51.100.7, 10.0.0.2", "[fd00::1]:80"}),
		clientAddrHeader([]string{`for=198.51.100.7;proto=https, for="[fd00::2]:4711"`}, nil),
	} {
		if allocs := testing.AllocsPerRun(100, func() { codec.ClientAddr(peer, h, trusted) }); allocs != 0 {
			t.Errorf("%v: %v allocations per call, want 0", h, allocs)
		}
	}
}

func TestParseTrusted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want []string // prefixes
		err  bool
		bad  string // the item the error names
	}{
		{name: "empty", in: ""},
		{name: "spaces", in: " \t "},
		{name: "example of the doc", in: "10.0.0.0/8, 127.0.0.1, ::1", want: []string{"10.0.0.0/8", "127.0.0.1/32", "::1/128"}},
		{name: "one prefix", in: "192.168.0.0/16", want: []string{"192.168.0.0/16"}},
		{name: "no spaces", in: "10.0.0.0/8,fd00::/8", want: []string{"10.0.0.0/8", "fd00::/8"}},
		{name: "host bits masked", in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}},
		{name: "everything", in: "0.0.0.0/0, ::/0", want: []string{"0.0.0.0/0", "::/0"}},
		{name: "IPv4-mapped prefix", in: "::ffff:10.0.0.0/104", want: []string{"10.0.0.0/8"}},
		{name: "IPv4-mapped address", in: "::ffff:127.0.0.1", want: []string{"127.0.0.1/32"}},
		{name: "bad prefix length", in: "10.0.0.0/8, 10.0.0.0/33", err: true, bad: "10.0.0.0/33"},
		{name: "host name", in: "localhost", err: true, bad: "localhost"},
		{name: "empty item", in: "10.0.0.0/8,,::1", err: true, bad: ""},
		{name: "trailing comma", in: "10.0.0.0/8,", err: true, bad: ""},
		{name: "separated by spaces", in: "10.0.0.0/8 127.0.0.1", err: true, bad: "10.0.0.0/8 127.0.0.1"},
		{name: "zone", in: "fe80::1%eth0", err: true, bad: "fe80::1%eth0"},
		{name: "zone in a prefix", in: "fe80::%eth0/10", err: true, bad: "fe80::%eth0/10"},
		{name: "port", in: "127.0.0.1:80", err: true, bad: "127.0.0.1:80"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := codec.ParseTrusted(c.in)
			if c.err {
				wantErr := fmt.Sprintf("codec: trusted proxy %q", c.bad)
				if err == nil || !strings.HasPrefix(err.Error(), wantErr) || got != nil {
					t.Fatalf("got %v, %v; want an error naming %q", got, err, c.bad)
				}
				return
			}
			var want []netip.Prefix
			for _, p := range c.want {
				want = append(want, netip.MustParsePrefix(p))
			}
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("got %v, %v; want %v", got, err, want)
			}
		})
	}
}

// An HTTP proxy in front of the server appends to X-Forwarded-For; only
// the proxy's own entry is believed.
func ExampleClientAddr() {
	trusted, err := codec.ParseTrusted("10.0.0.0/8")
	if err != nil {
		panic(err)
	}
	h := http.Header{"X-Forwarded-For": {"6.6.6.6, 198.51.100.7"}}
	fmt.Println(codec.ClientAddr(netip.MustParseAddr("10.0.0.1"), h, trusted))
	fmt.Println(codec.ClientAddr(netip.MustParseAddr("203.0.113.9"), h, trusted))
	// Output:
	// 198.51.100.7
	// 203.0.113.9
}
