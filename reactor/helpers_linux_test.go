package reactor

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// echoHandler writes back whatever arrives.
type echoHandler struct {
	mu     sync.Mutex
	opened int
	closed int
	errs   []error
}

func (h *echoHandler) OnOpen(c *Conn) {
	h.mu.Lock()
	h.opened++
	h.mu.Unlock()
}

func (h *echoHandler) OnData(c *Conn, in []byte) int {
	c.Write(in)
	return len(in)
}

func (h *echoHandler) OnClose(c *Conn, err error) {
	h.mu.Lock()
	h.closed++
	h.errs = append(h.errs, err)
	h.mu.Unlock()
}

func (h *echoHandler) counts() (int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opened, h.closed
}

func newTestGroup(t testing.TB, opts ...Option) *Group {
	t.Helper()
	g, err := NewGroup(opts...)
	if err != nil {
		t.Fatalf("NewGroup: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func listenEcho(t testing.TB, g *Group, h Handler) *Listener {
	t.Helper()
	if h == nil {
		h = &echoHandler{}
	}
	ln, err := g.Listen("tcp", "127.0.0.1:0", h)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	return ln
}

func dial(t testing.TB, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads back exactly len(msg) bytes.
func roundTrip(c net.Conn, msg, buf []byte) ([]byte, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	buf = buf[:len(msg)]
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// waitFor polls cond until it holds; bounded, and used only to observe state another
// goroutine publishes, never to order events.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
