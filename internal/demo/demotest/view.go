// Package demotest is the chat page's view of a room, for tests: a client
// that reads the demo's messages and keeps the member list as
// internal/demo/web/index.html does (by connection ID; a "here" or "sync"
// replaces one node's members, "gone" drops them), so that the demo's and
// the command's tests check what a page would show.
//
// # Thread rules
//
// A View reads its connection on a goroutine of its own; its methods are
// safe from any goroutine.
package demotest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wshub/wshub/internal/wstest"
)

// Timeout bounds the waits of WaitFor, WaitChat and WaitRaw.
const Timeout = 5 * time.Second

// View is what one named chat client knows about its room.
type View struct {
	mu      sync.Mutex
	members map[string]string // connection ID -> name, from presence events
	chats   []string          // "name: text" of chat messages, in order
	raw     []string          // every message, as it came
	changed chan struct{}     // signalled on every message
	err     error             // why the reader stopped
}

// Watch reads c's messages until it fails (each read has wstest's
// deadline).
func Watch(c *wstest.Conn) *View {
	v := &View{members: make(map[string]string), changed: make(chan struct{}, 1)}
	go func() {
		for {
			_, p, err := c.ReadMessage()
			v.mu.Lock()
			if err != nil {
				v.err = err
			} else {
				v.apply(p)
			}
			v.mu.Unlock()
			select {
			case v.changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return v
}

// event is a message as the chat page reads it.
type event struct {
	Type  string   `json:"type"`
	Event string   `json:"event"`
	Name  string   `json:"name"`
	ID    string   `json:"id"`
	Node  string   `json:"node"`
	Names []string `json:"names"`
	IDs   []string `json:"ids"`
	Text  string   `json:"text"` // of a chat message
}

// apply takes one message. Caller holds v.mu.
func (v *View) apply(p []byte) {
	v.raw = append(v.raw, string(p))
	var ev event
	if json.Unmarshal(p, &ev) != nil {
		return
	}
	if ev.Type == "chat" {
		v.chats = append(v.chats, ev.Name+": "+ev.Text)
		return
	}
	if ev.Type != "presence" {
		return
	}
	switch ev.Event {
	case "welcome", "here", "sync": // here, sync: all the members of one node
		if ev.Event == "welcome" {
			clear(v.members)
		} else {
			v.dropNode(ev.Node)
		}
		for i, n := range ev.Names {
			if i < len(ev.IDs) {
				v.members[ev.IDs[i]] = n
			}
		}
	case "join":
		v.members[ev.ID] = ev.Name
	case "leave":
		delete(v.members, ev.ID)
	case "gone":
		v.dropNode(ev.Node)
	}
}

// dropNode forgets the members of a node (the top 16 bits of their IDs),
// as the page does. Caller holds v.mu.
func (v *View) dropNode(node string) {
	for id := range v.members {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil && strconv.FormatUint(n>>48, 10) == node {
			delete(v.members, id)
		}
	}
}

// Names returns the members' names, sorted, one per connection.
func (v *View) Names() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.names()
}

func (v *View) names() []string {
	out := make([]string, 0, len(v.members))
	for _, n := range v.members {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// WaitFor waits until v lists exactly want (sorted) as its members; who
// names the view in the failure.
func (v *View) WaitFor(t testing.TB, who string, want ...string) {
	t.Helper()
	v.WaitForWithin(t, who, Timeout, want...)
}

// WaitForWithin is WaitFor with a deadline of d.
func (v *View) WaitForWithin(t testing.TB, who string, d time.Duration, want ...string) {
	t.Helper()
	v.wait(t, d, func() bool { return slices.Equal(v.names(), want) },
		func() string { return fmt.Sprintf("%s sees %q, want %q", who, v.names(), want) })
}

// WaitChat waits until v has had a chat message text from name.
func (v *View) WaitChat(t testing.TB, who, name, text string) {
	t.Helper()
	v.wait(t, Timeout, func() bool { return slices.Contains(v.chats, name+": "+text) },
		func() string { return fmt.Sprintf("%s never got %s's %q", who, name, text) })
}

// WaitRaw waits until v has had a message containing text, and reports
// whether one containing bad came before it.
func (v *View) WaitRaw(t testing.TB, who, text, bad string) bool {
	t.Helper()
	has := func(sub string) int {
		return slices.IndexFunc(v.raw, func(s string) bool { return strings.Contains(s, sub) })
	}
	v.wait(t, Timeout, func() bool { return has(text) >= 0 },
		func() string { return fmt.Sprintf("%s never got %q", who, text) })
	v.mu.Lock()
	defer v.mu.Unlock()
	j := has(bad)
	return j >= 0 && j < has(text)
}

// wait waits up to d until ok (called with v.mu held) holds, else fails
// with what (also called with v.mu held) and why the reader stopped.
func (v *View) wait(t testing.TB, d time.Duration, ok func() bool, what func() string) {
	t.Helper()
	deadline := time.After(d)
	for {
		v.mu.Lock()
		done := ok()
		v.mu.Unlock()
		if done {
			return
		}
		select {
		case <-v.changed:
		case <-deadline:
			v.mu.Lock()
			msg, err := what(), v.err
			v.mu.Unlock()
			t.Fatalf("%s (reader: %v)", msg, err)
		}
	}
}
