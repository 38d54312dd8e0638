package hub_test

import (
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/hub"
)

// marker ends what a test expects a client to receive: it is sent to every
// client after the publish under test, so the messages before it are all
// the client got from that publish.
const marker = "marker"

// step is one room call made by client Who (an index into the test's
// clients). Leave is Join's opposite.
type step struct {
	Who   int
	Room  string
	Leave bool
}

func TestPublish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		clients int
		steps   []step
		room    string // published to
		except  int    // index of the client left out, -1 for none
		want    []int  // clients that receive the publish, once each
		members map[string]int
	}{
		{
			name: "one room", clients: 3,
			steps: []step{{Who: 0, Room: "a"}, {Who: 1, Room: "a"}, {Who: 2, Room: "a"}},
			room:  "a", except: -1, want: []int{0, 1, 2},
			members: map[string]int{"a": 3},
		},
		{
			name: "connection in several rooms", clients: 3,
			steps: []step{
				{Who: 0, Room: "a"}, {Who: 0, Room: "b"}, {Who: 0, Room: "c"},
				{Who: 1, Room: "a"}, {Who: 2, Room: "b"},
			},
			room: "b", except: -1, want: []int{0, 2},
			members: map[string]int{"a": 2, "b": 2, "c": 1},
		},
		{
			name: "other room only", clients: 3,
			steps: []step{{Who: 0, Room: "a"}, {Who: 1, Room: "b"}, {Who: 2, Room: "b"}},
			room:  "a", except: -1, want: []int{0},
			members: map[string]int{"a": 1, "b": 2},
		},
		{
			name: "except leaves out exactly one", clients: 4,
			steps: []step{{Who: 0, Room: "a"}, {Who: 1, Room: "a"}, {Who: 2, Room: "a"}, {Who: 3, Room: "a"}},
			room:  "a", except: 1, want: []int{0, 2, 3},
			members: map[string]int{"a": 4},
		},
		{
			name: "except a non-member", clients: 3,
			steps: []step{{Who: 0, Room: "a"}, {Who: 1, Room: "a"}},
			room:  "a", except: 2, want: []int{0, 1},
			members: map[string]int{"a": 2},
		},
		{
			name: "joining twice counts once", clients: 2,
			steps: []step{{Who: 0, Room: "a"}, {Who: 0, Room: "a"}, {Who: 1, Room: "a"}, {Who: 0, Room: "a"}},
			room:  "a", except: -1, want: []int{0, 1},
			members: map[string]int{"a": 2},
		},
		{
			name: "leaving a room not joined is a no-op", clients: 3,
			steps: []step{
				{Who: 0, Room: "a"}, {Who: 1, Room: "a"},
				{Who: 2, Room: "a", Leave: true}, {Who: 0, Room: "nowhere", Leave: true},
			},
			room: "a", except: -1, want: []int{0, 1},
			members: map[string]int{"a": 2, "nowhere": 0},
		},
		{
			name: "leave", clients: 3,
			steps: []step{
				{Who: 0, Room: "a"}, {Who: 1, Room: "a"}, {Who: 2, Room: "a"}, {Who: 2, Room: "b"},
				{Who: 1, Room: "a", Leave: true}, {Who: 1, Room: "a", Leave: true},
			},
			room: "a", except: -1, want: []int{0, 2},
			members: map[string]int{"a": 2, "b": 1},
		},
		{
			name: "leave and join again", clients: 2,
			steps: []step{
				{Who: 0, Room: "a"}, {Who: 0, Room: "a", Leave: true}, {Who: 0, Room: "a"},
			},
			room: "a", except: -1, want: []int{0},
			members: map[string]int{"a": 1},
		},
		{
			name: "last member leaves", clients: 2,
			steps: []step{{Who: 0, Room: "a"}, {Who: 0, Room: "a", Leave: true}},
			room:  "a", except: -1, want: nil,
			members: map[string]int{"a": 0},
		},
		{
			name: "empty room", clients: 2,
			room: "nobody", except: -1, want: nil,
			members: map[string]int{"nobody": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, engine.Handler{})
			cs := dialN(t, s, tt.clients)
			h := s.hub
			for _, st := range tt.steps {
				call := h.Join
				if st.Leave {
					call = h.Leave
				}
				if err := call(s.conn(t, cs[st.Who].id), st.Room); err != nil {
					t.Fatalf("step %+v: %v", st, err)
				}
			}
			for room, n := range tt.members {
				waitMembers(t, h, room, n)
			}
			var err error
			if tt.except >= 0 {
				err = h.PublishExcept(tt.room, ws.OpText, []byte("news"), s.conn(t, cs[tt.except].id))
			} else {
				err = h.Publish(tt.room, ws.OpText, []byte("news"))
			}
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
			for i, c := range cs {
				if err := h.SendTo(c.id, ws.OpText, []byte(marker)); err != nil {
					t.Fatalf("SendTo(%d): %v", c.id, err)
				}
				var want []string
				if slices.Contains(tt.want, i) {
					want = []string{"news"}
				}
				if got := c.readUntil(t, marker); !slices.Equal(got, want) {
					t.Errorf("client %d got %q, want %q", i, got, want)
				}
			}
		})
	}
}

// TestDisconnectLeavesRooms drops a client that is in several rooms (as
// several as an observer that stays) and checks that the hub forgets it.
func TestDisconnectLeavesRooms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		disconnect func(t *testing.T, c *client)
	}{
		{name: "tcp drop", disconnect: func(t *testing.T, c *client) { c.close() }},
		{name: "close handshake", disconnect: func(t *testing.T, c *client) {
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
			if err := c.ws.WriteMessage(websocket.CloseMessage, msg); err != nil {
				t.Fatalf("write close: %v", err)
			}
			for { // read until the server's close answer ends the read side
				_ = c.ws.SetReadDeadline(time.Now().Add(wait))
				if _, _, err := c.ws.ReadMessage(); err != nil {
					break
				}
			}
			c.close()
		}},
	}
	rooms := []string{"a", "b", "c"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, engine.Handler{})
			h := s.hub
			gone, observer := dial(t, s), dial(t, s)
			member := s.conn(t, gone.id)
			for _, r := range rooms {
				mustJoin(t, h, member, r)
				mustJoin(t, h, s.conn(t, observer.id), r)
			}
			for _, r := range rooms {
				waitMembers(t, h, r, 2)
			}
			tt.disconnect(t, gone)
			for _, r := range rooms {
				waitMembers(t, h, r, 1)
			}
			waitLen(t, h, 1)
			if _, ok := h.Get(gone.id); ok {
				t.Errorf("Get(%d) found a disconnected connection", gone.id)
			}
			if err := h.SendTo(gone.id, ws.OpText, []byte("x")); !errors.Is(err, hub.ErrNotFound) {
				t.Errorf("SendTo(disconnected) = %v, want ErrNotFound", err)
			}
			for _, r := range rooms {
				if err := h.Publish(r, ws.OpText, []byte("after "+r)); err != nil {
					t.Fatalf("Publish: %v", err)
				}
			}
			mustSend(t, h, s.conn(t, observer.id), marker)
			want := []string{"after a", "after b", "after c"}
			if got := observer.readUntil(t, marker); !slices.Equal(got, want) {
				t.Errorf("observer got %q, want %q", got, want)
			}
		})
	}
}

// TestNothingAfterClose publishes to a room without pause while one of its
// members closes: the member must see its close answer as the last frame,
// then EOF, and nothing published after it.
func TestNothingAfterClose(t *testing.T) {
	t.Parallel()
	s := startServer(t, engine.Handler{})
	h := s.hub
	rc := dialRaw(t, s)
	id := rc.readID(t)
	mustJoin(t, h, s.conn(t, id), "r")
	waitMembers(t, h, "r", 1)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the game tick: publishes until told to stop
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := h.Publish("r", ws.OpText, []byte("tick")); err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	for range 10 { // publishes are arriving
		if _, _, err := rc.readFrame(); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	if err := rc.writeFrame(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")); err != nil {
		t.Fatalf("write close: %v", err)
	}
	var closes, after int
	for {
		hd, _, err := rc.readFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		switch {
		case hd.OpCode == ws.OpClose:
			closes++
		case closes > 0:
			after++
		}
	}
	if closes != 1 || after != 0 {
		t.Errorf("got %d close frames and %d frames after the close, want 1 and 0", closes, after)
	}
	waitMembers(t, h, "r", 0)
	waitLen(t, h, 0)
}
