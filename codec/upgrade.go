package codec

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strings"
)

// CheckUpgrade validates r as a WebSocket opening handshake (RFC 6455 §4.2.1)
// and returns the Sec-WebSocket-Key.
//
// Every error it returns is an *HTTPError: 405 with "Allow: GET" for
// another method; 400 for HTTP/1.0, a missing "Upgrade: websocket" or
// "Connection: Upgrade" token, or a Sec-WebSocket-Key that is not exactly
// one base64 value of 16 bytes; 426 with "Sec-WebSocket-Version: 13" for any
// version but 13 (§4.4). Safe from any goroutine.
func CheckUpgrade(r *Request) (key string, err error) {
	for _, check := range upgradeChecks {
		err = check(r)
		if err != nil {
			return "", err
		}
	}
	return checkKey(r)
}

// upgradeChecks run in the order of RFC 6455 §4.2.1, the key last.
var upgradeChecks = [...]func(*Request) error{
	checkMethod, checkUpgradeProto, checkUpgradeHeader,
	checkConnection, checkVersion,
}

func checkMethod(r *Request) error {
	if r.Method != http.MethodGet {
		return httpErr(http.StatusMethodNotAllowed, "method must be GET", [2]string{"Allow", http.MethodGet})
	}
	return nil
}

func checkUpgradeProto(r *Request) error {
	if minor, ok := protoMinor(r.Proto); !ok || minor < 1 {
		return badRequest("WebSocket requires HTTP/1.1")
	}
	return nil
}

func checkUpgradeHeader(r *Request) error {
	if !hasToken(r.Header["Upgrade"], "websocket") {
		return badRequest("missing Upgrade: websocket")
	}
	return nil
}

func checkConnection(r *Request) error {
	if !hasToken(r.Header["Connection"], "upgrade") {
		return badRequest("missing Connection: Upgrade")
	}
	return nil
}

func checkVersion(r *Request) error {
	v := r.Header["Sec-Websocket-Version"]
	if len(v) != 1 || strings.Trim(v[0], " \t") != "13" {
		return httpErr(http.StatusUpgradeRequired, "Sec-WebSocket-Version must be 13", [2]string{"Sec-WebSocket-Version", "13"})
	}
	return nil
}

// checkKey returns the only Sec-WebSocket-Key, a base64-encoded 16-byte
// nonce (§4.1).
func checkKey(r *Request) (string, error) {
	k := r.Header["Sec-Websocket-Key"]
	if len(k) != 1 {
		return "", badRequest("need exactly one Sec-WebSocket-Key")
	}
	key := strings.Trim(k[0], " \t")
	nonce, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(nonce) != 16 {
		return "", badRequest("malformed Sec-WebSocket-Key")
	}
	return key, nil
}

// acceptGUID is appended to the key before hashing (RFC 6455 §1.3).
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey computes Sec-WebSocket-Accept for key (RFC 6455 §4.2.2).
// Safe from any goroutine.
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}
