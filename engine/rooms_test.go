package engine_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/engine"
)

// step is one room call made by client Who (an index into the test's
// clients). Leave is Join's opposite.
type roomStep struct {
	Who   int
	Room  string
	Leave bool
}

func TestPublish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		clients int
		steps   []roomStep
		room    string // published to
		except  int    // index of the client left out, -1 for none
		want    []int  // clients that receive the publish, once each
		members map[string]int
	}{
		{
			name: "one room", clients: 3,
			steps: []roomStep{{Who: 0, Room: "a"}, {Who: 1, Room: "a"}, {Who: 2, Room: "a"}},
			room:  "a", except: -1, want: []int{0, 1, 2},
			members: map[string]int{"a": 3},
		},
		{
			name: "connection in several rooms", clients: 3,
			steps: []roomStep{
				{Who: 0, Room: "a"}, {Who: 0, Room: "b"}, {Who: 0, Room: "c"},
				{Who: 1, Room: "a"}, {Who: 2, Room: "b"},
			},
			room: "b", except: -1, want: []int{0, 2},
			members: map[string]int{"a": 2, "b": 2, "c": 1},
		},
		{
			name: "other room only", clients: 3,
			steps: []roomStep{{Who: 0, Room: "a"}, {Who: 1, Room: "b"}, {Who: 2, Room: "b"}},
			room:  "a", except: -1, want: []int{0},
			members: map[string]int{"a": 1, "b": 2},
		},
		{
			name: "except leaves out exactly one", clients: 4,
			steps: []roomStep{{Who: 0, Room: "a"}, {Who: 1, Room: "a"}, {Who: 2, Room: "a"}, {Who: 3, Room: "a"}},
			room:  "a", except: 1, want: []int{0, 2, 3},
			members: map[string]int{"a": 4},
		},
		{
			name: "except a non-member", clients: 3,
			steps: []roomStep{{Who: 0, Room: "a"}, {Who: 1, Room: "a"}},
			room:  "a", except: 2, want: []int{0, 1},
			members: map[string]int{"a": 2},
		},
		{
			name: "joining twice counts once", clients: 2,
			steps: []roomStep{{Who: 0, Room: "a"}, {Who: 0, Room: "a"}, {Who: 1, Room: "a"}, {Who: 0, Room: "a"}},
			room:  "a", except: -1, want: []int{0, 1},
			members: map[string]int{"a": 2},
		},
		{
			name: "leaving a room not joined is a no-op", clients: 3,
			steps: []roomStep{
				{Who: 0, Room: "a"}, {Who: 1, Room: "a"},
				{Who: 2, Room: "a", Leave: true}, {Who: 0, Room: "nowhere", Leave: true},
			},
			room: "a", except: -1, want: []int{0, 1},
			members: map[string]int{"a": 2, "nowhere": 0},
		},
		{
			name: "leave", clients: 3,
			steps: []roomStep{
				{Who: 0, Room: "a"}, {Who: 1, Room: "a"}, {Who: 2, Room: "a"}, {Who: 2, Room: "b"},
				{Who: 1, Room: "a", Leave: true}, {Who: 1, Room: "a", Leave: true},
			},
			room: "a", except: -1, want: []int{0, 2},
			members: map[string]int{"a": 2, "b": 1},
		},
		{
			name: "leave and join again", clients: 2,
			steps: []roomStep{
				{Who: 0, Room: "a"}, {Who: 0, Room: "a", Leave: true}, {Who: 0, Room: "a"},
			},
			room: "a", except: -1, want: []int{0},
			members: map[string]int{"a": 1},
		},
		{
			name: "last member leaves", clients: 2,
			steps: []roomStep{{Who: 0, Room: "a"}, {Who: 0, Room: "a", Leave: true}},
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
			for _, st := range tt.steps {
				c := s.conn(t, cs[st.Who].id)
				call := c.Join
				if st.Leave {
					call = c.Leave
				}
				if err := call(st.Room); err != nil {
					t.Fatalf("step %+v: %v", st, err)
				}
			}
			for room, n := range tt.members {
				waitMembers(t, s, room, n)
			}
			var err error
			if tt.except >= 0 {
				err = s.PublishExcept(tt.room, ws.OpText, []byte("news"), s.conn(t, cs[tt.except].id))
			} else {
				err = s.Publish(tt.room, ws.OpText, []byte("news"))
			}
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
			for i, c := range cs {
				if err := s.SendTo(c.id, ws.OpText, []byte(marker)); err != nil {
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
		{name: "tcp drop", disconnect: func(t *testing.T, c *client) { _ = c.Close() }},
		{name: "close handshake", disconnect: func(t *testing.T, c *client) {
			c.Send(closeFrame(closeBody(1000, "bye")))
			c.ExpectClose(1000)
			c.ExpectEOF()
			_ = c.Close()
		}},
	}
	rooms := []string{"a", "b", "c"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, engine.Handler{})
			gone, observer := dial(t, s), dial(t, s)
			member := s.conn(t, gone.id)
			for _, r := range rooms {
				mustJoin(t, member, r)
				mustJoin(t, s.conn(t, observer.id), r)
			}
			for _, r := range rooms {
				waitMembers(t, s, r, 2)
			}
			tt.disconnect(t, gone)
			for _, r := range rooms {
				waitMembers(t, s, r, 1)
			}
			waitLen(t, s, 1)
			if _, ok := s.Get(gone.id); ok {
				t.Errorf("Get(%d) found a disconnected connection", gone.id)
			}
			if err := s.SendTo(gone.id, ws.OpText, []byte("x")); !errors.Is(err, engine.ErrNotFound) {
				t.Errorf("SendTo(disconnected) = %v, want ErrNotFound", err)
			}
			for _, r := range rooms {
				if err := s.Publish(r, ws.OpText, []byte("after "+r)); err != nil {
					t.Fatalf("Publish: %v", err)
				}
			}
			mustSend(t, s.conn(t, observer.id), marker)
			want := []string{"after a", "after b", "after c"}
			if got := observer.readUntil(t, marker); !slices.Equal(got, want) {
				t.Errorf("observer got %q, want %q", got, want)
			}
		})
	}
}

// TestRoomsListing: Rooms lists every room with members and its count, and
// RangeMembers visits each member's *engine.Conn, from any goroutine.
func TestRoomsListing(t *testing.T) {
	t.Parallel()
	s := startServer(t, engine.Handler{}, engine.WithLoops(2))
	cs := dialN(t, s, 5)
	rooms := map[int][]string{0: {"red", "blue"}, 1: {"red"}, 2: {"blue"}, 3: {"blue"}}
	for i, names := range rooms {
		for _, r := range names {
			mustJoin(t, s.conn(t, cs[i].id), r)
		}
	}
	waitMembers(t, s, "blue", 3)
	waitMembers(t, s, "red", 2)
	want := []engine.Room{{Name: "blue", Members: 3}, {Name: "red", Members: 2}}
	if got := s.Rooms(); !slices.Equal(got, want) {
		t.Errorf("Rooms() = %v, want %v", got, want)
	}
	var ids []uint64
	s.RangeMembers("blue", func(c *engine.Conn) bool { ids = append(ids, c.ID()); return true })
	slices.Sort(ids)
	wantIDs := []uint64{cs[0].id, cs[2].id, cs[3].id}
	slices.Sort(wantIDs)
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("members of blue: %v, want %v", ids, wantIDs)
	}
	_ = cs[0].Close()
	waitMembers(t, s, "red", 1)
	if got := s.Rooms(); !slices.Equal(got, []engine.Room{{Name: "blue", Members: 2}, {Name: "red", Members: 1}}) {
		t.Errorf("Rooms() after a member left = %v", got)
	}
}
