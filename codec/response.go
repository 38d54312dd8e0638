package codec

import (
	"net/http"
	"strconv"
)

// AppendUpgradeResponse appends the 101 Switching Protocols response
// (RFC 6455 §4.2.2) for the client's Sec-WebSocket-Key, then the extra
// headers (e.g. Sec-WebSocket-Protocol). Header values must not contain CR
// or LF. Safe from any goroutine.
func AppendUpgradeResponse(dst []byte, key string, extra [][2]string) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\n"...)
	dst = appendHeaderLine(dst, "Upgrade", "websocket")
	dst = appendHeaderLine(dst, "Connection", "Upgrade")
	dst = appendHeaderLine(dst, "Sec-WebSocket-Accept", AcceptKey(key))
	dst = appendHeaderLines(dst, extra)
	return append(dst, "\r\n"...)
}

// AppendResponse appends a complete HTTP/1.1 response with Content-Length and
// Connection: close. Header values must not contain CR or LF. Safe from any
// goroutine.
func AppendResponse(dst []byte, status int, header [][2]string, body []byte) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(status)...)
	dst = append(dst, "\r\n"...)
	dst = appendHeaderLines(dst, header)
	dst = appendHeaderLine(dst, "Content-Length", strconv.Itoa(len(body)))
	dst = appendHeaderLine(dst, "Connection", "close")
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// AppendErrorResponse appends the response for a refused handshake: e.Status,
// e.Header and e.Reason as a plain-text body. Safe from any goroutine.
func AppendErrorResponse(dst []byte, e *HTTPError) []byte {
	header := append(e.Header[:len(e.Header):len(e.Header)],
		[2]string{"Content-Type", "text/plain; charset=utf-8"}, [2]string{"X-Content-Type-Options", "nosniff"})
	return AppendResponse(dst, e.Status, header, []byte(e.Reason+"\n"))
}

func appendHeaderLines(dst []byte, header [][2]string) []byte {
	for _, kv := range header {
		dst = appendHeaderLine(dst, kv[0], kv[1])
	}
	return dst
}

func appendHeaderLine(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}
