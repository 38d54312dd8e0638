package codec

import "strings"

// Protocols returns the subprotocols a client offers in its
// Sec-WebSocket-Protocol header lines (RFC 6455 §4.1, §11.3.4): tokens
// separated by commas, in the client's order of preference, empty items
// skipped. Safe from any goroutine.
func Protocols(lines []string) []string {
	var out []string
	for _, line := range lines {
		for item := range strings.SplitSeq(line, ",") {
			if item = strings.Trim(item, " \t"); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// Extensions returns the extension offers of Sec-WebSocket-Extensions
// header lines (RFC 6455 §9.1), one string per offer with its parameters
// ("permessage-deflate; client_max_window_bits"), split at the commas that
// are outside quoted strings. Safe from any goroutine.
func Extensions(lines []string) []string {
	var out []string
	for _, line := range lines {
		quoted, start := false, 0
		for i := 0; i <= len(line); i++ {
			switch {
			case i < len(line) && line[i] == '"':
				quoted = !quoted
			case i == len(line) || line[i] == ',' && !quoted:
				if item := strings.Trim(line[start:i], " \t"); item != "" {
					out = append(out, item)
				}
				start = i + 1
			}
		}
	}
	return out
}

// ValidQuery reports whether raw, a request's query without '?', is one
// that url.ParseQuery reads without error: '&'-separated pairs with
// well-formed percent-escapes and no ';'. It does not allocate. Safe from
// any goroutine.
func ValidQuery(raw string) bool {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// ValidHeaderField reports whether name is a token and value has no
// control character but tab (RFC 7230 §3.2): a field that may be written
// into a response without splitting it. Safe from any goroutine.
func ValidHeaderField(name, value string) bool {
	return isToken(name) && !hasCTL(value)
}
