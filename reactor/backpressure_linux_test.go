package reactor

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const respSize = 16 << 10

// ampHandler answers every 1 KiB request with a 16 KiB response, stops consuming when its
// queue is at the high watermark (as a pipelining server would), records how far the
// queue ever grew, and checks that the reactor pauses reading synchronously.
type ampHandler struct {
	high        int
	conn        atomic.Pointer[Conn]
	served      atomic.Int64
	maxBuffered atomic.Int64
	writable    atomic.Int64
	violations  atomic.Int64
	resp        []byte
	opened      chan struct{}
}

const reqSize = 1 << 10

func (h *ampHandler) OnOpen(c *Conn) {
	// Small kernel buffers so the reactor's own queue, not the kernel's, takes the load.
	unix.SetsockoptInt(c.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 32<<10)
	unix.SetsockoptInt(c.Fd(), unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<10)
	h.conn.Store(c)
	close(h.opened)
}

func (h *ampHandler) OnData(c *Conn, in []byte) int {
	done := 0
	for len(in)-done >= reqSize {
		if c.Buffered() >= h.high {
			break
		}
		c.Write(h.resp)
		done += reqSize
		h.served.Add(1)
		b := c.Buffered()
		if int64(b) > h.maxBuffered.Load() {
			h.maxBuffered.Store(int64(b))
		}
		if b >= h.high && c.readOn {
			h.violations.Add(1)
		}
	}
	return done
}

func (h *ampHandler) OnClose(*Conn, error) {}
func (h *ampHandler) OnWritable(c *Conn)   { h.writable.Add(1) }

// connState asks the loop for the connection's queue and read state.
func connState(t *testing.T, c *Conn) (buffered int, reading, blocked bool) {
	t.Helper()
	done := make(chan struct{})
	if err := c.Loop().Submit(func() {
		buffered, reading, blocked = c.Buffered(), c.readOn, c.wblocked
		close(done)
	}); err != nil {
		t.Fatal(err)
	}
	<-done
	return
}

func TestSlowReaderWatermarks(t *testing.T) {
	const high, low = 128 << 10, 32 << 10
	const reqs = 4096 // 4 MiB of requests asking for 64 MiB of responses
	g := newTestGroup(t, Loops(1), Watermarks(high, low))
	h := &ampHandler{high: high, resp: make([]byte, respSize), opened: make(chan struct{})}
	for i := range h.resp {
		h.resp[i] = byte(i)
	}
	ln := listenEcho(t, g, h)

	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<10)
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 32<<10)
		})
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	<-h.opened
	c := h.conn.Load()
	client.SetDeadline(time.Now().Add(60 * time.Second))

	// The peer sends everything and, for now, reads nothing.
	wrote := make(chan error, 1)
	go func() {
		_, err := client.Write(make([]byte, reqs*reqSize))
		wrote <- err
	}()

	// The kernel absorbs output until the peer's window closes; then the connection
	// sits with reading off and a short last writev.
	var buffered int
	waitFor(t, "reading paused with the socket full", func() bool {
		b, reading, blocked := connState(t, c)
		buffered = b
		return !reading && blocked
	})
	if buffered <= low || buffered >= high+respSize {
		t.Fatalf("paused with %d bytes queued, want within (%d, %d)", buffered, low, high+respSize)
	}
	// Reading is off, so the requests pile up in the kernel and the writer is stuck
	// long before its 4 MiB are through.
	if in := g.Loops()[0].Stats().BytesIn; in >= reqs*reqSize/2 {
		t.Fatalf("server read %d of %d request bytes while paused", in, reqs*reqSize)
	}
	select {
	case err := <-wrote:
		t.Fatalf("client finished writing while the server was paused (err %v)", err)
	default:
	}

	// Drain: every response arrives intact, reading resumed, OnWritable ran.
	buf := make([]byte, respSize)
	for i := 0; i < reqs; i++ {
		if _, err := io.ReadFull(client, buf); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if buf[0] != 0 || buf[respSize-1] != byte((respSize-1)%256) || buf[1000] != byte(1000%256) {
			t.Fatalf("response %d corrupt", i)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if h.served.Load() != reqs {
		t.Fatalf("served %d, want %d", h.served.Load(), reqs)
	}
	if h.writable.Load() == 0 {
		t.Fatal("OnWritable never ran")
	}
	if v := h.violations.Load(); v != 0 {
		t.Fatalf("reading was still on %d times with the queue at the high watermark", v)
	}
	if m := h.maxBuffered.Load(); m >= high+respSize {
		t.Fatalf("queue peaked at %d bytes, bound is %d", m, high+respSize)
	}
	t.Logf("pauses=%d writable=%d peak queue=%d", g.Loops()[0].Stats().Paused, h.writable.Load(), h.maxBuffered.Load())
}
