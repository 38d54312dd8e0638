package bench_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshub/wshub/bench"
	"github.com/wshub/wshub/codec"
)

// splitServer is an /echo server that writes its frames in pieces of 1 to
// 7 bytes, and sends a ping and half of another right behind the 101, in
// the same write: the client must keep the bytes after the head, resume
// partial frames, and answer both pings.
type splitServer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func startSplitServer(t *testing.T) *splitServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &splitServer{ln: ln}
	s.wg.Go(s.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
		for _, err := range s.errs {
			t.Error(err)
		}
	})
	return s
}

func (s *splitServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer c.Close()
			if err := serveSplit(c); err != nil {
				s.mu.Lock()
				s.errs = append(s.errs, err)
				s.mu.Unlock()
			}
		})
	}
}

func serveSplit(c net.Conn) error {
	buf := make([]byte, 0, 4096)
	var req *codec.Request
	for req == nil {
		n, err := c.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return err
		}
		buf = buf[:len(buf)+n]
		var used int
		if req, used, err = codec.ParseRequest(buf, 0); err != nil {
			return err
		}
		if req != nil {
			buf = append(buf[:0], buf[used:]...)
		}
	}
	key, err := codec.CheckUpgrade(req)
	if err != nil {
		return err
	}
	ping2 := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpPing}, []byte("yo"))
	head := codec.AppendUpgradeResponse(nil, key, nil)
	head = codec.AppendFrame(head, ws.Header{Fin: true, OpCode: ws.OpPing}, []byte("hi"))
	if _, err = c.Write(append(head, ping2[:1]...)); err != nil {
		return err
	}
	time.Sleep(5 * time.Millisecond)
	if _, err = c.Write(ping2[1:]); err != nil {
		return err
	}
	return echoSplit(c, buf)
}

// echoSplit echoes data frames in small pieces until the client leaves; it
// fails if the client did not answer both pings.
func echoSplit(c net.Conn, buf []byte) error {
	var dec codec.Decoder
	pongs := 0
	rng := rand.New(rand.NewPCG(1, 2))
	for {
		m, n, err := dec.Decode(buf)
		if err != nil {
			return err
		}
		if m.OpCode == 0 {
			k, err := c.Read(buf[len(buf):cap(buf)])
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
					if pongs != 2 {
						return errors.New("the client did not answer both pings")
					}
					return nil
				}
				return err
			}
			buf = buf[:len(buf)+k]
			continue
		}
		switch m.OpCode {
		case ws.OpPong:
			pongs++
		case ws.OpBinary:
			out := codec.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpBinary}, m.Payload)
			for len(out) > 0 {
				k := min(len(out), 1+rng.IntN(7))
				if _, err := c.Write(out[:k]); err != nil {
					return nil // the client is gone
				}
				out = out[k:]
			}
		}
		buf = append(buf[:0], buf[n:]...)
	}
}

func TestFramesSplitAnywhere(t *testing.T) {
	t.Parallel()
	s := startSplitServer(t)
	res, err := bench.Run(context.Background(), bench.Config{
		Scenario: bench.ScenarioEcho, Addr: s.ln.Addr().String(), Conns: 8,
		Duration: 300 * time.Millisecond, Size: 300, Loops: 2, Drain: 5 * time.Second,
	}, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, res, res.Sent)
}
