package reactor

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// raiseFdLimit lifts the soft RLIMIT_NOFILE to the hard limit and returns the new soft
// limit.
func raiseFdLimit(t testing.TB) uint64 {
	t.Helper()
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
			t.Fatalf("setrlimit: %v", err)
		}
	}
	return r.Cur
}

// idHandler echoes like echoHandler, but first tells the client which loop owns it, and
// signals every open and close.
type idHandler struct {
	opens  atomic.Int64
	closes atomic.Int64
	opened chan struct{}
	closed chan struct{}
}

func newIDHandler(buf int) *idHandler {
	return &idHandler{opened: make(chan struct{}, buf), closed: make(chan struct{}, buf)}
}

func (h *idHandler) OnOpen(c *Conn) {
	c.Write([]byte{byte(c.Loop().ID())})
	h.opens.Add(1)
	h.opened <- struct{}{}
}

func (h *idHandler) OnData(c *Conn, in []byte) int {
	c.Write(in)
	return len(in)
}

func (h *idHandler) OnClose(c *Conn, err error) {
	h.closes.Add(1)
	h.closed <- struct{}{}
}

func waitN(t testing.TB, ch <-chan struct{}, n int, what string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %s (%d of %d)", what, i, n)
		}
	}
}

// dialID dials and reads the owning loop's id.
func dialID(addr string) (net.Conn, int, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, 0, err
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		c.Close()
		return nil, 0, err
	}
	return c, int(b[0]), nil
}

func TestScale8000RoundRobin(t *testing.T) {
	const n = 8000
	if lim := raiseFdLimit(t); lim < 2*n+200 {
		t.Skipf("RLIMIT_NOFILE %d too low for %d connections", lim, n)
	}
	g := newTestGroup(t, Loops(2))
	h := newIDHandler(n)
	ln := listenEcho(t, g, h)
	addr := ln.Addr().String()

	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var eg errgroup.Group
	eg.SetLimit(64)
	for i := range conns {
		eg.Go(func() error {
			c, _, err := dialID(addr)
			conns[i] = c
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
	waitN(t, h.opened, n, "opens")
	s0, s1 := g.Loops()[0].Stats(), g.Loops()[1].Stats()
	t.Logf("per-loop conns: %d, %d", s0.Conns, s1.Conns)
	if s0.Conns+s1.Conns != n {
		t.Fatalf("loops hold %d+%d conns, want %d", s0.Conns, s1.Conns, n)
	}
	if d := s0.Conns - s1.Conns; d < -1 || d > 1 {
		t.Fatalf("round robin unbalanced: %d vs %d", s0.Conns, s1.Conns)
	}

	// Every connection, all held open at once, sends 1 KiB and checks the echo.
	for i := range conns {
		eg.Go(func() error {
			msg := bytes.Repeat([]byte{byte(i), byte(i >> 8), 'x', '\n'}, 256)
			got, err := roundTrip(conns[i], msg, make([]byte, len(msg)))
			if err != nil {
				return fmt.Errorf("conn %d: %w", i, err)
			}
			if !bytes.Equal(got, msg) {
				return fmt.Errorf("conn %d: echo differs", i)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		c.Close()
		conns[i] = nil
	}
	waitN(t, h.closed, n, "closes")
}

func TestLeastConnectionsUnevenCloses(t *testing.T) {
	const n = 200
	g := newTestGroup(t, Loops(2), WithBalancer(LeastConnections()))
	h := newIDHandler(4 * n)
	ln := listenEcho(t, g, h)
	addr := ln.Addr().String()

	byLoop := [2][]net.Conn{}
	var mu sync.Mutex
	open := func(k int) {
		t.Helper()
		for i := 0; i < k; i++ {
			// One at a time, so that each pick sees the previous connection counted.
			c, id, err := dialID(addr)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			byLoop[id] = append(byLoop[id], c)
			mu.Unlock()
		}
		waitN(t, h.opened, k, "opens")
	}
	closeOn := func(id, k int) {
		t.Helper()
		for i := 0; i < k; i++ {
			last := len(byLoop[id]) - 1
			byLoop[id][last].Close()
			byLoop[id] = byLoop[id][:last]
		}
		waitN(t, h.closed, k, "closes")
	}
	balanced := func(stage string) {
		t.Helper()
		a, b := g.Loops()[0].Stats().Conns, g.Loops()[1].Stats().Conns
		if int(a) != len(byLoop[0]) || int(b) != len(byLoop[1]) {
			t.Fatalf("%s: stats %d/%d, client sees %d/%d", stage, a, b, len(byLoop[0]), len(byLoop[1]))
		}
		if d := a - b; d < -1 || d > 1 {
			t.Fatalf("%s: unbalanced %d vs %d", stage, a, b)
		}
	}
	defer func() {
		for _, l := range byLoop {
			for _, c := range l {
				c.Close()
			}
		}
	}()

	open(n)
	balanced("initial")
	closeOn(0, 3*n/8) // loop 0 loses most of its connections
	open(3 * n / 8)   // all of them must land on loop 0
	balanced("after closes on loop 0")
	closeOn(1, n/4)
	closeOn(0, n/16)
	open(n/4 - n/16)
	balanced("after uneven closes on both")
}

func TestSourceHashSticky(t *testing.T) {
	g := newTestGroup(t, Loops(2), WithBalancer(SourceHash()))
	h := newIDHandler(64)
	ln := listenEcho(t, g, h)
	first := -1
	for i := 0; i < 8; i++ {
		c, id, err := dialID(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if first == -1 {
			first = id
		}
		if id != first {
			t.Fatalf("same source address went to loops %d and %d", first, id)
		}
	}
	b := SourceHash()
	loops := g.Loops()
	if b.Pick(loops, nil) != loops[0] {
		t.Fatal("nil address must fall back to loop 0")
	}
	a4 := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 1}
	a4b := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3).To4(), Port: 2}
	if b.Pick(loops, a4) != b.Pick(loops, a4b) {
		t.Fatal("the 4- and 16-byte forms of one IPv4 address must hash alike")
	}
}
