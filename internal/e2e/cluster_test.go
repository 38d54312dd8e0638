package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"

	"github.com/wshub/wshub/cluster"
	"github.com/wshub/wshub/cluster/clustertest"
	"github.com/wshub/wshub/engine"
	"github.com/wshub/wshub/internal/demo"
	"github.com/wshub/wshub/internal/wstest"
)

// demoNode is one chat demo server of a cluster, as cmd/wshub -nats runs
// it.
type demoNode struct {
	srv  *engine.Server
	node *cluster.Node
	nc   *nats.Conn
}

// startClusterDemo runs an embedded NATS server and n chat demo servers
// joined to it as nodes 1..n.
func startClusterDemo(t *testing.T, n int) []*demoNode {
	t.Helper()
	url := clustertest.StartNATS(t)
	var err error
	nodes := make([]*demoNode, n)
	for i := range nodes {
		d := &demoNode{}
		if d.nc, err = nats.Connect(url, nats.NoEcho()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.nc.Close)
		d.srv, err = demo.NewServer(demo.Config{
			Compression: engine.Compression{Enabled: true},
			Join: func(srv *engine.Server, h demo.Hooks) (demo.Fanout, error) {
				node, err := cluster.Join(srv, d.nc, cluster.Options{OnRoomMessage: h.RoomMessage, OnSubscribed: h.Subscribed, OnNode: h.Node})
				d.node = node
				return node, err
			},
		}, engine.WithNodeID(uint16(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.node.Close() }) // after the server stops (cleanups run last first)
		start(t, d.srv)
		nodes[i] = d
	}
	return nodes
}

// subscribed waits until d subscribes to room and its presence room, and
// NATS has the subscriptions (a round trip on its connection): from then
// on, members joining on other nodes are heard.
func (d *demoNode) subscribed(t *testing.T, room string) {
	t.Helper()
	wstest.Eventually(t, "the node subscribes to "+room, func() bool {
		n := 0
		for _, r := range d.node.Subscribed() {
			if r == room || r == "presence\x00"+room {
				n++
			}
		}
		return n == 2
	})
	if err := d.nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserClusterChat: three chat servers joined through NATS; alice's
// page is on node 1 and bob's on node 3. They see each other in the
// member list, chat both ways (compressed too), and alice sees bob leave.
func TestBrowserClusterChat(t *testing.T) {
	needBrowser(t)
	t.Parallel()
	nodes := startClusterDemo(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	browser := startBrowser(t, ctx)
	alice, bob := newPage(t, browser), newPage(t, browser)
	must(t, "alice opens node 1's page", chromedp.Do(alice.ctx, chromedp.Navigate("http://"+nodes[0].srv.Addr().String()+"/")))
	must(t, "bob opens node 3's page", chromedp.Do(bob.ctx, chromedp.Navigate("http://"+nodes[2].srv.Addr().String()+"/")))

	must(t, "alice joins on node 1", alice.join("alice", "c1"))
	nodes[0].subscribed(t, "c1")
	must(t, "bob joins on node 3", bob.join("bob", "c1"))
	must(t, "bob sees alice, who is on node 1", chromedp.Do(bob.ctx, memberIs("alice", true), hasText("#count", "2")))
	must(t, "alice sees bob join on node 3", chromedp.Do(alice.ctx,
		memberIs("bob", true),
		hasText(".line.system", "bob joined"),
		hasText("#count", "2"),
	))
	nodes[2].subscribed(t, "c1")

	must(t, "alice sends", chromedp.Do(alice.ctx,
		chromedp.SendKeys(chromedp.ID("msg"), "hello from node 1"),
		chromedp.Click(chromedp.ID("send")),
	))
	must(t, "bob gets it on node 3", chromedp.Do(bob.ctx, chatIs("alice", "hello from node 1")))
	long := strings.Repeat("compressed across nodes; ", 80)
	must(t, "bob sends a long message", chromedp.Do(bob.ctx,
		chromedp.SetValue(chromedp.ID("msg"), long),
		chromedp.Click(chromedp.ID("send")),
	))
	must(t, "alice gets it on node 1", chromedp.Do(alice.ctx, chatIs("bob", long)))
	must(t, "alice's own message came back once", chromedp.Do(alice.ctx,
		jsTrue(`[...document.querySelectorAll("#log .line.chat .text")].filter((e) => e.textContent === "hello from node 1").length === 1`)))

	bob.close()
	must(t, "alice sees bob leave node 3", chromedp.Do(alice.ctx,
		hasText(".line.system", "bob left"),
		memberIs("bob", false),
		memberIs("alice", true),
	))
	for _, p := range []*page{alice, bob} {
		if errs := p.jsErrors(); len(errs) > 0 {
			t.Errorf("%s's page threw: %s", p.name, strings.Join(errs, "; "))
		}
	}
	if s := nodes[0].node.Stats(); s.Received == 0 || s.Published == 0 || s.Dropped != 0 {
		t.Errorf("node 1's cluster stats %+v", s)
	}
}
