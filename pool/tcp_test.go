package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrt/weft"
	weftnet "github.com/weftrt/weft/net"
	"github.com/weftrt/weft/task"
)

// echoServer is a futures-face echo server on 127.0.0.1:0 that reports each stream it
// accepts and how many are open, so tests can count the pool's connections from the
// peer's side and close them as a peer would.
type echoServer struct {
	ln       *weftnet.Listener
	accepted chan *weftnet.Stream
	open     atomic.Int64
	maxOpen  atomic.Int64
}

func newRuntime(t testing.TB) *weft.Runtime {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	rt, err := weft.New(weft.Workers(2), weft.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func newEchoServer(t testing.TB, rt *weft.Runtime) *echoServer {
	t.Helper()
	ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	e := &echoServer{ln: ln, accepted: make(chan *weftnet.Stream, 1<<12)}
	e.accept()
	return e
}

func (e *echoServer) addr() string { return e.ln.Addr().String() }

func (e *echoServer) accept() {
	e.ln.Accept().Then(func(s *weftnet.Stream, err error) {
		if err != nil {
			return
		}
		e.accept()
		n := e.open.Add(1)
		for old := e.maxOpen.Load(); n > old && !e.maxOpen.CompareAndSwap(old, n); old = e.maxOpen.Load() {
		}
		e.accepted <- s
		e.echo(s, make([]byte, 4<<10))
	})
}

func (e *echoServer) echo(s *weftnet.Stream, buf []byte) {
	s.Read(buf).Then(func(n int, err error) {
		if err != nil {
			e.open.Add(-1)
			s.Close()
			return
		}
		s.WriteAll(buf[:n]).Then(func(_ int, err error) {
			if err != nil {
				e.open.Add(-1)
				s.Close()
				return
			}
			e.echo(s, buf)
		})
	})
}

func (e *echoServer) awaitAccepted(t testing.TB, n int) []*weftnet.Stream {
	t.Helper()
	var out []*weftnet.Stream
	deadline := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case s := <-e.accepted:
			out = append(out, s)
		case <-deadline:
			t.Fatalf("server accepted %d connections, want %d", len(out), n)
		}
	}
	return out
}

// roundTrip sends msg and reads the echo back in full.
func roundTrip(s *weftnet.Stream, msg []byte) error {
	if _, err := s.WriteAll(msg).Join(); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	for off := 0; off < len(got); {
		n, err := s.Read(got[off:]).Join()
		if err != nil {
			return err
		}
		off += n
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo %q, want %q", got, msg)
	}
	return nil
}

func TestTCPManyTasksShareEight(t *testing.T) {
	rt := newRuntime(t)
	srv := newEchoServer(t, rt)
	p, err := New(TCP(rt, srv.addr()), MaxSize(8))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const tasks, per = 1000, 10
	var served atomic.Int64
	hs := make([]*task.JoinHandle[int], tasks)
	for i := range hs {
		hs[i] = task.Spawn(rt, func(ctx context.Context) (int, error) {
			for j := range per {
				c, err := p.Get(ctx).Join()
				if err != nil {
					return 0, err
				}
				if err := roundTrip(c.Value(), fmt.Appendf(nil, "task %d get %d", i, j)); err != nil {
					c.Discard()
					return 0, err
				}
				c.Release()
				served.Add(1)
			}
			return per, nil
		})
	}
	deadline := time.After(60 * time.Second)
	for _, h := range hs {
		select {
		case <-h.Done():
		case <-deadline:
			buf := make([]byte, 256<<10) // where everyone is stuck, for whoever reads the log
			t.Logf("%s", buf[:runtime.Stack(buf, true)])
			t.Fatalf("tasks not done after 60s: served %d, pool %+v, server open %d", served.Load(), p.Stats(), srv.open.Load())
		}
		if _, err := h.Join(); err != nil {
			t.Fatal(err)
		}
	}
	if served.Load() != tasks*per {
		t.Fatalf("served %d, want %d", served.Load(), tasks*per)
	}
	if srv.maxOpen.Load() > 8 {
		t.Fatalf("server saw %d connections open at once, want <= 8", srv.maxOpen.Load())
	}
	st := p.Stats()
	t.Logf("server max open %d; %d of %d Gets waited; %d opens", srv.maxOpen.Load(), st.Waited, st.Gets, st.Connects)
}

func TestTCPMinIdleRefilledAfterPeerCloses(t *testing.T) {
	rt := newRuntime(t)
	srv := newEchoServer(t, rt)
	p, err := New(TCP(rt, srv.addr()), MaxSize(4), MinIdle(3), ReapInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, s := range srv.awaitAccepted(t, 3) { // warmed without a Get
		s.Close() // the peer hangs up on idle pooled connections
	}
	srv.awaitAccepted(t, 3) // the sweep sees them broken and opens replacements
	c, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c.Value(), []byte("after the refill")); err != nil {
		t.Fatal(err)
	}
	c.Release()
	if st := p.Stats(); st.ClosedBroken != 3 || st.Open > 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTCPPeerClosedSeenOnCheckout(t *testing.T) {
	rt := newRuntime(t)
	srv := newEchoServer(t, rt)
	// No sweep during the test: only the checkout check can catch the dead stream.
	p, err := New(TCP(rt, srv.addr()), MaxSize(1), ReapInterval(time.Hour), IdleTimeout(0), MaxLifetime(0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	dead := c.Value()
	c.Release()
	srv.awaitAccepted(t, 1)[0].Close()
	// Wait until the client's loop has seen the FIN, so the checkout below is sure to
	// meet a closed stream; the wait is on the condition, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for dead.Post(nil) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the peer's close never reached the stream")
		}
		runtime.Gosched()
	}
	c, err = join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Value() == dead {
		t.Fatal("a stream the peer closed was handed out")
	}
	if err := roundTrip(c.Value(), []byte("fresh")); err != nil {
		t.Fatal(err)
	}
	c.Release()
	if st := p.Stats(); st.ClosedBroken != 1 || st.Connects != 2 {
		t.Fatalf("stats %+v", st)
	}
	// The checkout probe and the return check cost no allocation either.
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() {
		c, err := p.Get(ctx).Join()
		if err != nil {
			panic(err)
		}
		c.Release()
	}); n != 0 {
		t.Fatalf("TCP Get+Release from idle: %v allocs, want 0", n)
	}
}

func TestTCPDialFailure(t *testing.T) {
	rt := newRuntime(t)
	srv := newEchoServer(t, rt)
	addr := srv.addr()
	srv.ln.Close() // nothing listens there any more
	p, err := New(TCP(rt, addr), MaxSize(1), Retry(2, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = join(t, p.Get(context.Background()))
	if err == nil || errors.Is(err, ErrTimeout) {
		t.Fatalf("Get with the server gone: %v", err)
	}
	if st := p.Stats(); st.ConnectErrors != 2 || st.Open != 0 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := New(TCP(nil, addr)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("TCP with a nil runtime: %v", err)
	}
}

func TestRuntimeCloseClosesPool(t *testing.T) {
	rt := newRuntime(t)
	srv := newEchoServer(t, rt)
	p, err := New(TCP(rt, srv.addr()), MaxSize(1))
	if err != nil {
		t.Fatal(err)
	}
	held, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	waiting := p.Get(context.Background())
	srv.ln.Close()
	rt.Close()
	if _, err := join(t, waiting); !errors.Is(err, ErrClosed) {
		t.Fatalf("a Get queued across rt.Close: %v", err)
	}
	held.Release() // closed, not pooled
	if st := p.Stats(); st.Open != 0 {
		t.Fatalf("stats after rt.Close: %+v", st)
	}
}
