package reactor

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// funcHandler builds a Handler from functions; closed receives every OnClose error.
type funcHandler struct {
	open   func(c *Conn)
	data   func(c *Conn, in []byte) int
	closed chan error
}

func newFuncHandler() *funcHandler { return &funcHandler{closed: make(chan error, 16)} }

func (h *funcHandler) OnOpen(c *Conn) {
	if h.open != nil {
		h.open(c)
	}
}

func (h *funcHandler) OnData(c *Conn, in []byte) int {
	if h.data != nil {
		return h.data(c, in)
	}
	return len(in)
}

func (h *funcHandler) OnClose(c *Conn, err error) { h.closed <- err }

func (h *funcHandler) waitClose(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.closed:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("OnClose never ran")
		return nil
	}
}

func TestPeerCloseGivesEOF(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	h := newFuncHandler()
	ln := listenEcho(t, g, h)
	c := dial(t, ln.Addr())
	c.Write([]byte("x"))
	c.Close()
	if err := h.waitClose(t); err != io.EOF {
		t.Fatalf("OnClose(%v), want io.EOF", err)
	}
}

func TestCloseFlushesThenCloses(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	h := newFuncHandler()
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: needs many turns
	h.data = func(c *Conn, in []byte) int {
		c.Write(big)
		c.Write([]byte("END"))
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, err := c.Write([]byte("late")); !errors.Is(err, ErrClosed) {
			t.Errorf("Write after Close: %v, want ErrClosed", err)
		}
		if err := c.Close(); !errors.Is(err, ErrClosed) {
			t.Errorf("second Close: %v, want ErrClosed", err)
		}
		return len(in)
	}
	ln := listenEcho(t, g, h)
	c := dial(t, ln.Addr())
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("go"))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte{}, big...), "END"...); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	if err := h.waitClose(t); err != nil {
		t.Fatalf("OnClose(%v), want nil", err)
	}
}

func TestCloseWriteHalfClose(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	h := newFuncHandler()
	got := make(chan string, 4)
	h.open = func(c *Conn) {
		c.Write([]byte("bye"))
		if err := c.CloseWrite(); err != nil {
			t.Errorf("CloseWrite: %v", err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Errorf("Write after CloseWrite: %v", err)
		}
	}
	h.data = func(c *Conn, in []byte) int {
		got <- string(in)
		return len(in)
	}
	ln := listenEcho(t, g, h)
	c := dial(t, ln.Addr())
	c.SetDeadline(time.Now().Add(10 * time.Second))
	all, err := io.ReadAll(c) // ends at the server's FIN
	if err != nil || string(all) != "bye" {
		t.Fatalf("read %q, %v", all, err)
	}
	// The server still reads.
	c.Write([]byte("still here"))
	if s := <-got; s != "still here" {
		t.Fatalf("server got %q", s)
	}
	c.Close()
	if err := h.waitClose(t); err != io.EOF {
		t.Fatalf("OnClose(%v), want io.EOF", err)
	}
}

func TestAbortSendsRST(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	h := newFuncHandler()
	h.data = func(c *Conn, in []byte) int {
		c.Write([]byte("never sent"))
		if err := c.Abort(); err != nil {
			t.Errorf("Abort: %v", err)
		}
		if c.Fd() != -1 {
			t.Errorf("Fd after Abort = %d", c.Fd())
		}
		return len(in)
	}
	ln := listenEcho(t, g, h)
	c := dial(t, ln.Addr())
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("x"))
	if err := h.waitClose(t); err != nil {
		t.Fatalf("OnClose(%v), want nil", err)
	}
	_, err := c.Read(make([]byte, 16))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client read: %v, want ECONNRESET", err)
	}
}

func TestPartialConsumeIsOfferedAgain(t *testing.T) {
	g := newTestGroup(t, Loops(1), ReadBufferSize(512))
	h := newFuncHandler()
	lines := make(chan string, 8)
	h.data = func(c *Conn, in []byte) int {
		i := bytes.IndexByte(in, '\n')
		if i < 0 {
			return 0
		}
		lines <- string(in[:i])
		return i + 1
	}
	ln := listenEcho(t, g, h)
	c := dial(t, ln.Addr())
	c.Write([]byte("ab"))
	c.Write([]byte("c\nde"))
	if l := <-lines; l != "abc" {
		t.Fatalf("line %q", l)
	}
	// A line far larger than the read buffer: the buffer must grow to hold it.
	long := bytes.Repeat([]byte("z"), 100<<10)
	c.Write(append(long, '\n'))
	if l := <-lines; l != "de"+string(long) {
		t.Fatalf("long line of %d bytes, want %d", len(l), len(long)+2)
	}
}

func TestWritevAndIdleBufferRelease(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	h := newFuncHandler()
	conns := make(chan *Conn, 1)
	h.open = func(c *Conn) { conns <- c }
	h.data = func(c *Conn, in []byte) int {
		n, err := c.Writev([][]byte{[]byte("<"), in, []byte(">")})
		if err != nil || n != len(in)+2 {
			t.Errorf("Writev = %d, %v", n, err)
		}
		return len(in)
	}
	ln := listenEcho(t, g, h)
	c := dial(t, ln.Addr())
	sc := <-conns
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("hello"))
	got := make([]byte, 7)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "<hello>" {
		t.Fatalf("got %q, %v", got, err)
	}
	// The echo went out; once idle the connection holds no buffers.
	done := make(chan [3]int)
	sc.Loop().Submit(func() { done <- [3]int{cap(sc.in), sc.Buffered(), len(sc.out)} })
	if st := <-done; st != [3]int{} {
		t.Fatalf("idle conn holds in cap %d, %d buffered, %d chunks", st[0], st[1], st[2])
	}
	if sc.LocalAddr().String() != ln.Addr().String() {
		t.Fatalf("LocalAddr %v, listener %v", sc.LocalAddr(), ln.Addr())
	}
	if sc.RemoteAddr().String() != c.LocalAddr().String() {
		t.Fatalf("RemoteAddr %v, client %v", sc.RemoteAddr(), c.LocalAddr())
	}
}

func TestGroupCloseClosesConns(t *testing.T) {
	g, err := NewGroup(Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	h := newFuncHandler()
	opened := make(chan struct{}, 4)
	h.open = func(c *Conn) {
		c.SetContext("ctx")
		opened <- struct{}{}
	}
	ln, err := g.Listen("tcp", "127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		c := dial(t, ln.Addr())
		_ = c
		<-opened
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := h.waitClose(t); !errors.Is(err, ErrClosed) {
			t.Fatalf("OnClose(%v), want ErrClosed", err)
		}
	}
	if err := g.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := ln.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("listener Close after group Close: %v", err)
	}
	if _, err := g.Listen("tcp", "127.0.0.1:0", h); !errors.Is(err, ErrClosed) {
		t.Fatalf("Listen after Close: %v", err)
	}
	if err := g.Loops()[0].Submit(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	if tm := g.Loops()[0].AfterFunc(time.Millisecond, func() { t.Error("timer ran after Close") }); tm.Stop() {
		t.Fatal("Stop of a timer on a closed loop reported true")
	}
}

func TestListenerCloseStopsAccepting(t *testing.T) {
	for _, rp := range []bool{false, true} {
		g := newTestGroup(t, Loops(2), ReusePort(rp))
		ln := listenEcho(t, g, nil)
		addr := ln.Addr().String()
		if err := echoOnce(addr, "a"); err != nil {
			t.Fatal(err)
		}
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("reusePort=%v: dial succeeded after Listener.Close", rp)
		}
	}
}

func TestBadInput(t *testing.T) {
	for name, opt := range map[string]Option{
		"loops":      Loops(-1),
		"watermarks": Watermarks(10, 20),
		"zero high":  Watermarks(0, 0),
		"readbuf":    ReadBufferSize(1),
		"balancer":   WithBalancer(nil),
	} {
		if _, err := NewGroup(opt); !errors.Is(err, ErrBadOption) {
			t.Errorf("%s: NewGroup err %v, want ErrBadOption", name, err)
		}
	}
	g := newTestGroup(t, Loops(1))
	for _, tc := range []struct{ network, addr string }{
		{"udp", "127.0.0.1:0"},
		{"unix", "/tmp/x"},
		{"tcp", "127.0.0.1:99999"},
		{"tcp", "not an address"},
	} {
		if ln, err := g.Listen(tc.network, tc.addr, &echoHandler{}); err == nil {
			ln.Close()
			t.Errorf("Listen(%q, %q) succeeded", tc.network, tc.addr)
		}
	}
	if _, err := g.Listen("tcp", "127.0.0.1:0", nil); !errors.Is(err, ErrBadOption) {
		t.Errorf("Listen(nil handler): %v", err)
	}
	ln := listenEcho(t, g, nil)
	if _, err := g.Listen("tcp", ln.Addr().String(), &echoHandler{}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second Listen on a bound port: %v, want EADDRINUSE", err)
	}
	l := g.Loops()[0]
	if err := l.Submit(nil); !errors.Is(err, ErrBadOption) {
		t.Errorf("Submit(nil): %v", err)
	}
	if _, err := l.Attach(0, &echoHandler{}); !errors.Is(err, ErrNotInLoop) {
		t.Errorf("Attach off loop: %v", err)
	}
	if err := l.Watch(0, EventIn, func(uint32) {}); !errors.Is(err, ErrNotInLoop) {
		t.Errorf("Watch off loop: %v", err)
	}
	if err := l.Unwatch(0); !errors.Is(err, ErrNotInLoop) {
		t.Errorf("Unwatch off loop: %v", err)
	}
	if l.InLoop() {
		t.Error("InLoop true off the loop")
	}
	errs := make(chan error, 4)
	l.Submit(func() {
		_, err := l.Attach(-1, &echoHandler{})
		errs <- err
		errs <- l.Watch(-1, EventIn, func(uint32) {})
		errs <- l.Unwatch(12345)
		_, err = l.Attach(l.p.evfd+100000, &echoHandler{}) // not a descriptor
		errs <- err
	})
	for i := 0; i < 4; i++ {
		if err := <-errs; err == nil {
			t.Errorf("loop-side bad input %d accepted", i)
		}
	}
}

func TestAttachAndWatch(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	l := g.Loops()[0]
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	peer := os.NewFile(uintptr(fds[1]), "peer")
	defer peer.Close()
	h := newFuncHandler()
	h.data = func(c *Conn, in []byte) int {
		c.Write(bytes.ToUpper(in))
		return len(in)
	}
	attached := make(chan error, 1)
	l.Submit(func() {
		c, err := l.Attach(fds[0], h)
		if err == nil && !c.Loop().InLoop() {
			err = errors.New("InLoop false on the loop")
		}
		attached <- err
	})
	if err := <-attached; err != nil {
		t.Fatal(err)
	}
	peer.SetDeadline(time.Now().Add(5 * time.Second))
	peer.Write([]byte("abc"))
	buf := make([]byte, 3)
	if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "ABC" {
		t.Fatalf("attached conn answered %q, %v", buf, err)
	}

	// Watch an eventfd: the callback runs on the loop when it is signalled.
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	fired := make(chan bool, 1)
	watched := make(chan error, 1)
	l.Submit(func() {
		watched <- l.Watch(efd, EventIn, func(ev uint32) {
			var b [8]byte
			unix.Read(efd, b[:])
			fired <- l.InLoop() && ev&EventIn != 0
			if err := l.Unwatch(efd); err != nil {
				t.Errorf("Unwatch: %v", err)
			}
		})
	})
	if err := <-watched; err != nil {
		t.Fatal(err)
	}
	unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	select {
	case ok := <-fired:
		if !ok {
			t.Fatal("watch callback off the loop or without EventIn")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch callback never ran")
	}
}

func TestPeerResetWhileWriting(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	h := newFuncHandler()
	chunk := make([]byte, 64<<10)
	h.data = func(c *Conn, in []byte) int {
		c.Write(chunk)
		return len(in)
	}
	ln := listenEcho(t, g, h)
	c := dial(t, ln.Addr())
	c.Write([]byte("go"))
	c.Write([]byte("go"))
	// Close with unread data and SO_LINGER 0: the server sees a reset, not a crash
	// (writev to a reset socket must give EPIPE/ECONNRESET, never kill the process).
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	err := h.waitClose(t)
	if err != io.EOF && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("OnClose(%v), want a reset, EPIPE or EOF", err)
	}
	c2 := dial(t, ln.Addr())
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	c2.Write([]byte("go"))
	if _, err := io.ReadFull(c2, make([]byte, len(chunk))); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
}

// A connecting socket is watched until writable and then attached; Attach takes the fd
// over even if the watcher did not Unwatch first.
func TestAttachTakesOverWatchedFd(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	l := g.Loops()[0]
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	peer := os.NewFile(uintptr(fds[1]), "peer")
	defer peer.Close()
	h := newFuncHandler()
	h.data = func(c *Conn, in []byte) int { c.Write(in); return len(in) }
	res := make(chan error, 1)
	l.Submit(func() {
		err := l.Watch(fds[0], EventOut, func(uint32) {
			_, err := l.Attach(fds[0], h)
			res <- err
		})
		if err != nil {
			res <- err
		}
	})
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	peer.SetDeadline(time.Now().Add(5 * time.Second))
	peer.Write([]byte("hi"))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("got %q, %v", buf, err)
	}
}

// eofHandler answers after the peer's half-close, from a timer (as an asynchronous
// handler would), then closes.
type eofHandler struct {
	funcHandler
	viaCloseWrite bool
}

func (h *eofHandler) OnReadEOF(c *Conn) bool {
	c.Loop().AfterFunc(time.Millisecond, func() {
		c.Write([]byte("late answer"))
		if h.viaCloseWrite {
			c.CloseWrite()
		} else {
			c.Close()
		}
	})
	return true
}

func TestReadEOFKeepsWriting(t *testing.T) {
	for _, viaCW := range []bool{false, true} {
		g := newTestGroup(t, Loops(1))
		h := &eofHandler{funcHandler: *newFuncHandler(), viaCloseWrite: viaCW}
		ln := listenEcho(t, g, h)
		c := dial(t, ln.Addr())
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("question"))
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "late answer" {
			t.Fatalf("closeWrite=%v: got %q, %v", viaCW, got, err)
		}
		want := error(nil)
		if viaCW {
			want = io.EOF
		}
		if err := h.waitClose(t); err != want {
			t.Fatalf("closeWrite=%v: OnClose(%v), want %v", viaCW, err, want)
		}
	}
}

// TestDataThenFINBeforeFirstRead: data and the peer's FIN are both queued before the
// loop's first read, so they come with one edge. The short read that gets the data must
// not end the draining (see doc.go): the FIN raises no further edge, and the connection
// would never see its EOF.
func TestDataThenFINBeforeFirstRead(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	l := g.Loops()[0]
	for _, kind := range []string{"unix", "tcp"} {
		t.Run(kind, func(t *testing.T) {
			var fd int
			if kind == "unix" {
				fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fds[1])
				if _, err := unix.Write(fds[1], []byte("hello")); err != nil {
					t.Fatal(err)
				}
				if err := unix.Shutdown(fds[1], unix.SHUT_WR); err != nil {
					t.Fatal(err)
				}
				fd = fds[0]
			} else {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				cl := dial(t, ln.Addr())
				sv, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				cl.Write([]byte("hello"))
				cl.(*net.TCPConn).CloseWrite()
				// Once the server side reads the FIN, both are queued in its socket.
				f, err := sv.(*net.TCPConn).File()
				sv.Close()
				if err != nil {
					t.Fatal(err)
				}
				fd, err = unix.Dup(int(f.Fd()))
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			h := newFuncHandler()
			got := make(chan string, 4)
			h.data = func(c *Conn, in []byte) int {
				got <- string(in)
				return len(in)
			}
			attached := make(chan error, 1)
			l.Submit(func() {
				_, err := l.Attach(fd, h)
				attached <- err
			})
			if err := <-attached; err != nil {
				t.Fatal(err)
			}
			if err := h.waitClose(t); err != io.EOF {
				t.Fatalf("OnClose(%v), want io.EOF", err)
			}
			var all string
			for len(got) > 0 {
				all += <-got
			}
			if all != "hello" {
				t.Fatalf("OnData got %q, want %q", all, "hello")
			}
		})
	}
}
