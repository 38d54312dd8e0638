package smoke_test

import (
	"bytes"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// readyPrefix marks the messages join uses to learn a client is a member;
// expect skips them.
const readyPrefix = "ready:"

const ioTimeout = 5 * time.Second

// message is one WebSocket message a check sends and expects back.
type message struct {
	name string
	mt   int
	data []byte
}

// messages covers both data opcodes and all three length encodings.
var messages = []message{
	{name: "text", mt: websocket.TextMessage, data: []byte("hello room")},
	{name: "binary", mt: websocket.BinaryMessage, data: []byte{0x00, 0x01, 0xfe, 0xff}},
	{name: "text 16-bit length", mt: websocket.TextMessage, data: bytes.Repeat([]byte("x"), 300)},
	{name: "binary 64-bit length", mt: websocket.BinaryMessage, data: pattern(70_000)},
	{name: "empty binary", mt: websocket.BinaryMessage, data: nil},
}

// gaps are messages a peer's library cannot carry, by peer and message
// name, with the reason; the checks skip them.
var gaps = map[string]map[string]string{
	"nbio": {"empty binary": "nbio v1.6.8 never calls OnMessage for a zero-length data message " +
		"(websocket.Conn.Parse leaves the message nil when the frame body is empty)"},
}

// each runs f for every message peer can carry, as subtests.
func each(t *testing.T, peer string, f func(t *testing.T, i int, m message)) {
	for i, m := range messages {
		t.Run(m.name, func(t *testing.T) {
			if reason, ok := gaps[peer][m.name]; ok {
				t.Skip(reason)
			}
			f(t, i, m)
		})
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestPeers(t *testing.T) {
	checks := []struct {
		name string
		run  func(t *testing.T, peer, addr string)
	}{
		{name: "room", run: checkRoom},
		{name: "default room", run: checkDefaultRoom},
		{name: "burst", run: checkBurst},
		{name: "echo", run: checkEcho},
		{name: "echo ping and close", run: checkPingClose},
	}
	for _, name := range peers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t, name)
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.run(t, name, s.addr) })
			}
			if n := s.stderr.listeningLines(); n != 1 {
				t.Errorf("printed %d listening lines, want 1", n)
			}
			if strings.Contains(s.stderr.String(), "DATA RACE") {
				t.Error("the race detector reported a data race")
			}
		})
	}
}

func TestPeersExitZeroOnSignal(t *testing.T) {
	for _, name := range peers {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(fmt.Sprintf("%s/%v", name, sig), func(t *testing.T) {
				t.Parallel()
				s := start(t, name)
				join(t, dial(t, s.addr, "/ws?room=signal"), "member")
				send(t, dial(t, s.addr, "/echo"), message{mt: websocket.TextMessage, data: []byte("open")})
				if code := s.signal(t, sig, 3*time.Second); code != 0 {
					t.Errorf("exit code %d after %v, want 0", code, sig)
				}
			})
		}
	}
}

// checkRoom: every message reaches both members of its room, with its
// opcode, and no one in another room.
func checkRoom(t *testing.T, peer, addr string) {
	a := dial(t, addr, "/ws?room=r1")
	b := dial(t, addr, "/ws?room=r1")
	other := dial(t, addr, "/ws?room=r2")
	join(t, a, "a")
	join(t, b, "b")
	join(t, other, "other")
	each(t, peer, func(t *testing.T, i int, m message) {
		send(t, []*websocket.Conn{a, b}[i%2], m)
		expect(t, a, m)
		expect(t, b, m)
	})
	own := message{name: "own", mt: websocket.TextMessage, data: []byte("r2 only")}
	send(t, other, own)
	expect(t, other, own) // the first data it reads: nothing leaked from r1
}

// checkDefaultRoom: /ws without a room is the room "lobby".
func checkDefaultRoom(t *testing.T, peer, addr string) {
	a := dial(t, addr, "/ws")
	b := dial(t, addr, "/ws?room=lobby")
	join(t, a, "a")
	join(t, b, "b")
	m := message{mt: websocket.TextMessage, data: []byte("in the lobby")}
	send(t, a, m)
	expect(t, b, m)
}

// checkBurst: a burst of 200 reaches every member whole and in order.
func checkBurst(t *testing.T, peer, addr string) {
	a := dial(t, addr, "/ws?room=burst")
	b := dial(t, addr, "/ws?room=burst")
	join(t, a, "a")
	join(t, b, "b")
	const n = 200
	for i := range n {
		send(t, a, message{mt: websocket.BinaryMessage, data: fmt.Appendf(nil, "burst %03d", i)})
	}
	for i := range n {
		m := message{name: fmt.Sprint(i), mt: websocket.BinaryMessage, data: fmt.Appendf(nil, "burst %03d", i)}
		expect(t, a, m)
		expect(t, b, m)
	}
}

// checkEcho: /echo returns every message to its sender unchanged.
func checkEcho(t *testing.T, peer, addr string) {
	c := dial(t, addr, "/echo")
	each(t, peer, func(t *testing.T, _ int, m message) {
		send(t, c, m)
		expect(t, c, m)
	})
}

// checkPingClose: a ping is answered with a pong carrying its data, and a
// close with a close carrying its code.
func checkPingClose(t *testing.T, peer, addr string) {
	c := dial(t, addr, "/echo")
	pongs := make(chan string, 1)
	c.SetPongHandler(func(data string) error {
		pongs <- data
		return nil
	})
	if err := c.WriteControl(websocket.PingMessage, []byte("ping-1"), time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	after := message{name: "after ping", mt: websocket.TextMessage, data: []byte("after ping")}
	send(t, c, after)
	expect(t, c, after)
	select {
	case got := <-pongs:
		if got != "ping-1" {
			t.Errorf("pong data %q, want %q", got, "ping-1")
		}
	default:
		t.Error("no pong before the message sent after the ping")
	}
	closing := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.WriteControl(websocket.CloseMessage, closing, time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after close: %v, want close 1000", err)
	}
}

func dial(t *testing.T, addr, path string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// join sends a ready message and waits for it to come back, which proves
// the server counts c as a member of its room.
func join(t *testing.T, c *websocket.Conn, name string) {
	t.Helper()
	ready := readyPrefix + name
	send(t, c, message{mt: websocket.TextMessage, data: []byte(ready)})
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("join %s: %v", name, err)
		}
		if string(data) == ready {
			return
		}
	}
}

func send(t *testing.T, c *websocket.Conn, m message) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := c.WriteMessage(m.mt, m.data); err != nil {
		t.Fatalf("send %s: %v", m.name, err)
	}
}

// expect reads the next message other than a ready message and compares.
func expect(t *testing.T, c *websocket.Conn, want message) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	for {
		mt, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("%s: %v", want.name, err)
		}
		if mt == websocket.TextMessage && strings.HasPrefix(string(data), readyPrefix) {
			continue
		}
		if mt != want.mt || !bytes.Equal(data, want.data) {
			t.Fatalf("%s: got type %d, %d bytes %.40q; want type %d, %d bytes %.40q",
				want.name, mt, len(data), data, want.mt, len(want.data), want.data)
		}
		return
	}
}
