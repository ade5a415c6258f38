package net_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	stdnet "net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/weftrt/weft"
	weftnet "github.com/weftrt/weft/net"
	"github.com/weftrt/weft/task"
)

func TestMain(m *testing.M) {
	if runtime.GOOS != "linux" {
		// Every test needs the epoll reactor; elsewhere Listen and Dial
		// return ErrUnsupported, which TestUnsupported-style checks would
		// be all there is to test.
		fmt.Println("weft/net: the reactor needs Linux; skipping")
		os.Exit(0)
	}
	// ants starts its default pool's goroutines at package init.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

func newRuntime(t testing.TB) *weft.Runtime {
	t.Helper()
	rt, err := weft.New(weft.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// wait bounds every future a test waits on.
func wait[T any](t testing.TB, f *task.Future[T]) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := f.Await(ctx)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		t.Fatalf("future did not complete in time")
	}
	return v, err
}

func listen(t testing.TB, rt *weft.Runtime, opts ...weftnet.Option) *weftnet.Listener {
	t.Helper()
	ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// pair returns a dialed stream and the stream the listener accepted for it.
func pair(t testing.TB, rt *weft.Runtime, ln *weftnet.Listener) (*weftnet.Stream, *weftnet.Stream) {
	t.Helper()
	acc := ln.Accept()
	c, err := wait(t, weftnet.Dial(context.Background(), rt, "tcp", ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	s, err := wait(t, acc)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestNetConn(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt)
	nettest.TestConn(t, func() (c1, c2 stdnet.Conn, stop func(), err error) {
		a, b := pair(t, rt, ln)
		c1, c2 = a.NetConn(), b.NetConn()
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	})
}

// futuresEcho serves every accepted stream with Then continuations only: no
// goroutine is parked per connection.
func futuresEcho(ln *weftnet.Listener) {
	var accept func()
	accept = func() {
		ln.Accept().Then(func(s *weftnet.Stream, err error) {
			if err != nil {
				return
			}
			accept()
			buf := make([]byte, 16<<10)
			var loop func()
			loop = func() {
				s.Read(buf).Then(func(n int, err error) {
					if err != nil {
						s.Close()
						return
					}
					s.WriteAll(buf[:n]).Then(func(_ int, err error) {
						if err != nil {
							s.Close()
							return
						}
						loop()
					})
				})
			}
			loop()
		})
	}
	accept()
}

// echoClient sends size bytes in random-sized writes while reading the echo
// back, all with futures, and reports the first mismatch or error.
func echoClient(rt *weft.Runtime, addr string, size int, seed int64, done func(error)) {
	rng := rand.New(rand.NewSource(seed))
	want := make([]byte, size)
	rng.Read(want)
	var chunks []int
	for left := size; left > 0; {
		n := 1 + rng.Intn(4096)
		if n > left {
			n = left
		}
		chunks = append(chunks, n)
		left -= n
	}
	weftnet.Dial(context.Background(), rt, "tcp", addr).Then(func(s *weftnet.Stream, err error) {
		if err != nil {
			done(err)
			return
		}
		var once sync.Once
		finish := func(err error) {
			once.Do(func() { s.Close(); done(err) })
		}
		off := 0
		var write func(i int)
		write = func(i int) {
			if i == len(chunks) {
				return
			}
			p := want[off : off+chunks[i]]
			off += chunks[i]
			s.WriteAll(p).Then(func(_ int, err error) {
				if err != nil {
					finish(err)
					return
				}
				write(i + 1)
			})
		}
		write(0)
		got := make([]byte, 0, size)
		buf := make([]byte, 8<<10)
		var read func()
		read = func() {
			s.Read(buf).Then(func(n int, err error) {
				if err != nil {
					finish(err)
					return
				}
				got = append(got, buf[:n]...)
				if len(got) < size {
					read()
					return
				}
				if !bytes.Equal(got, want) {
					finish(errors.New("echo differs"))
					return
				}
				finish(nil)
			})
		}
		read()
	})
}

func TestEchoFutures1000x64KiB(t *testing.T) {
	const streams, size = 1000, 64 << 10
	rt := newRuntime(t)
	ln := listen(t, rt)
	futuresEcho(ln)
	errs := make(chan error, streams)
	for i := 0; i < streams; i++ {
		echoClient(rt, ln.Addr().String(), size, int64(i), func(err error) { errs <- err })
	}
	timeout := time.After(90 * time.Second)
	for i := 0; i < streams; i++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
		case <-timeout:
			t.Fatalf("only %d of %d streams finished", i, streams)
		}
	}
}

func TestDial1000Concurrent(t *testing.T) {
	const n = 1000
	rt := newRuntime(t)
	ln := listen(t, rt)
	var accepted atomic.Int64
	accs := make([]*task.Future[*weftnet.Stream], n)
	for i := range accs {
		accs[i] = ln.Accept()
	}
	dials := make([]*task.Future[*weftnet.Stream], n)
	for i := range dials {
		dials[i] = weftnet.Dial(context.Background(), rt, "tcp", ln.Addr().String())
	}
	for _, f := range dials {
		s, err := wait(t, f)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer s.Close()
	}
	for _, f := range accs {
		s, err := wait(t, f)
		if err != nil {
			t.Fatalf("accept: %v", err)
		}
		accepted.Add(1)
		defer s.Close()
	}
	if accepted.Load() != n {
		t.Fatalf("accepted %d, want %d", accepted.Load(), n)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestDialRefused(t *testing.T) {
	rt := newRuntime(t)
	_, err := wait(t, weftnet.Dial(context.Background(), rt, "tcp", closedPort(t)))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("got %v, want ECONNREFUSED", err)
	}
	var op *stdnet.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("got %T %v, want *net.OpError for dial", err, err)
	}
}

func TestDialContext(t *testing.T) {
	rt := newRuntime(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := wait(t, weftnet.Dial(ctx, rt, "tcp", closedPort(t)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	_, err = wait(t, weftnet.Dial(ctx, rt, "tcp", closedPort(t)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
}

func TestBadInput(t *testing.T) {
	rt := newRuntime(t)
	if _, err := weftnet.Listen(nil, "tcp", "127.0.0.1:0"); !errors.Is(err, weftnet.ErrNilRuntime) {
		t.Errorf("Listen(nil rt): %v", err)
	}
	if _, err := weftnet.Listen(rt, "udp", "127.0.0.1:0"); !errors.Is(err, weftnet.ErrBadNetwork) {
		t.Errorf("Listen(udp): %v", err)
	}
	if _, err := weftnet.Listen(rt, "tcp", "127.0.0.1:notaport"); err == nil {
		t.Errorf("Listen(bad port): no error")
	}
	ctx := context.Background()
	for _, tc := range []struct{ network, addr string }{
		{"udp", "127.0.0.1:1"},
		{"tcp", "127.0.0.1"},
		{"tcp", "127.0.0.1:99999"},
		{"tcp", "127.0.0.1:-1"},
		{"tcp4", "[::1]:80"},
		{"tcp6", "127.0.0.1:80"},
	} {
		if _, err := wait(t, weftnet.Dial(ctx, rt, tc.network, tc.addr)); err == nil {
			t.Errorf("Dial(%q, %q): no error", tc.network, tc.addr)
		}
	}
	if _, err := wait(t, weftnet.Dial(ctx, nil, "tcp", "127.0.0.1:1")); !errors.Is(err, weftnet.ErrNilRuntime) {
		t.Errorf("Dial(nil rt): %v", err)
	}
}

func TestReadDeadline(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt)
	c, s := pair(t, rt, ln)
	defer c.Close()
	defer s.Close()
	const d = 50 * time.Millisecond
	start := time.Now()
	deadline := start.Add(d)
	c.SetReadDeadline(deadline)
	r := c.Read(make([]byte, 10))
	// A probe on the same loop, due one millisecond after the deadline: by
	// the time the loop runs it, the read must have failed. This measures
	// "the deadline plus one loop turn" on the loop itself, so a busy test
	// machine that is slow to wake this goroutine cannot fail it.
	doneByProbe := make(chan bool, 1)
	c.Loop().AfterFunc(time.Until(deadline)+time.Millisecond, func() {
		select {
		case <-r.Done():
			doneByProbe <- true
		default:
			doneByProbe <- false
		}
	})
	_, err := wait(t, r)
	elapsed := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want deadline error", err)
	}
	var ne stdnet.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("deadline error %v is not a net.Error with Timeout", err)
	}
	if elapsed < d {
		t.Fatalf("read deadline fired early, after %v", elapsed)
	}
	select {
	case ok := <-doneByProbe:
		if !ok {
			t.Fatal("read still pending when the loop ran a timer due 1ms after its deadline")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("probe timer never ran")
	}
	// A later deadline makes the stream usable again.
	c.SetReadDeadline(time.Time{})
	r = c.Read(make([]byte, 10))
	if _, err := wait(t, s.WriteAll([]byte("hi"))); err != nil {
		t.Fatal(err)
	}
	if n, err := wait(t, r); n != 2 || err != nil {
		t.Fatalf("read after deadline reset: %d, %v", n, err)
	}
}

func TestClosePendingRead(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt)
	c, s := pair(t, rt, ln)
	defer s.Close()
	r := c.Read(make([]byte, 10))
	select {
	case <-r.Done():
		t.Fatal("read completed before any data or close")
	default:
	}
	c.Close()
	if _, err := wait(t, r); !errors.Is(err, weftnet.ErrClosed) {
		t.Fatalf("pending read got %v, want ErrClosed", err)
	}
	if _, err := wait(t, c.Read(make([]byte, 1))); !errors.Is(err, weftnet.ErrClosed) {
		t.Fatalf("read after close got %v", err)
	}
	if _, err := wait(t, c.Write([]byte("x"))); !errors.Is(err, weftnet.ErrClosed) {
		t.Fatalf("write after close got %v", err)
	}
	// The peer sees the close.
	if _, err := wait(t, s.Read(make([]byte, 1))); err != io.EOF {
		t.Fatalf("peer read got %v, want EOF", err)
	}
}

func TestPeerCloseDeliversBufferedThenEOF(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt)
	c, s := pair(t, rt, ln)
	if _, err := wait(t, c.WriteAll([]byte("hello"))); err != nil {
		t.Fatal(err)
	}
	c.Close()
	got, err := io.ReadAll(s.NetConn())
	if err != nil || string(got) != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	s.Close()
}

func fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

func TestRuntimeCloseReleasesEverything(t *testing.T) {
	existing := goleak.IgnoreCurrent()
	before := fdCount(t)
	rt, err := weft.New(weft.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	futuresEcho(ln)
	var pending []*task.Future[int]
	for i := 0; i < 20; i++ {
		c, err := wait(t, weftnet.Dial(context.Background(), rt, "tcp", ln.Addr().String()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wait(t, c.WriteAll([]byte("ping"))); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := wait(t, c.Read(buf)); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, c.Read(make([]byte, 8))) // left waiting
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range pending {
		if _, err := wait(t, f); err == nil {
			t.Fatal("pending read succeeded after runtime close")
		}
	}
	if after := fdCount(t); after != before {
		t.Fatalf("fds: %d before, %d after rt.Close", before, after)
	}
	goleak.VerifyNone(t, existing)
}

func TestEventEcho(t *testing.T) {
	rt := newRuntime(t)
	var closed atomic.Int64
	ln := listen(t, rt, weftnet.WithHandler(weftnet.HandlerFuncs{
		Data: func(s *weftnet.Stream, in []byte) int {
			if err := s.Send(in); err != nil {
				t.Errorf("Send: %v", err)
			}
			return len(in)
		},
		Close: func(s *weftnet.Stream, err error) { closed.Add(1) },
	}))
	if _, err := wait(t, ln.Accept()); !errors.Is(err, weftnet.ErrEventStream) {
		t.Fatalf("Accept on a handler listener: %v", err)
	}
	c, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("0123456789"), 10000)
	go c.Write(msg)
	got := make([]byte, len(msg))
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %v", err)
	}
	c.Close()
}

// TestEventOffload answers each line from a scheduler task that finishes in
// reverse order, and checks the answers still go out in request order.
func TestEventOffload(t *testing.T) {
	rt := newRuntime(t)
	var seq atomic.Int64
	ln := listen(t, rt, weftnet.WithHandler(weftnet.HandlerFuncs{
		Data: func(s *weftnet.Stream, in []byte) int {
			consumed := 0
			for {
				i := bytes.IndexByte(in[consumed:], '\n')
				if i < 0 {
					return consumed
				}
				line := string(in[consumed : consumed+i])
				consumed += i + 1
				n := seq.Add(1)
				s.Offload(func() []byte {
					time.Sleep(time.Duration(10-n%10) * time.Millisecond)
					return []byte(line + "!\n")
				})
			}
		},
	}))
	c, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var req, want bytes.Buffer
	for i := 0; i < 10; i++ {
		req.WriteString(string(rune('a'+i)) + "\n")
		want.WriteString(string(rune('a'+i)) + "!\n")
	}
	if _, err := c.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("got %q, %v; want %q", got, err, want.Bytes())
	}
}

// TestPostFromGoroutines writes from many goroutines with Post; each
// message must arrive whole.
func TestPostFromGoroutines(t *testing.T) {
	rt := newRuntime(t)
	streams := make(chan *weftnet.Stream, 1)
	ln := listen(t, rt, weftnet.WithHandler(weftnet.HandlerFuncs{
		Open: func(s *weftnet.Stream) { streams <- s },
	}))
	c, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s *weftnet.Stream
	select {
	case s = <-streams:
	case <-time.After(10 * time.Second):
		t.Fatal("no OnOpen")
	}
	if err := s.Send([]byte("x")); !errors.Is(err, weftnet.ErrNotOnLoop) {
		t.Fatalf("Send off the loop: %v", err)
	}
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := s.Post(bytes.Repeat([]byte{byte('A' + w)}, 100)); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, writers*each*100)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(got); i += 100 {
		if !bytes.Equal(got[i:i+100], bytes.Repeat(got[i:i+1], 100)) {
			t.Fatalf("message at %d interleaved", i)
		}
	}
}

func TestListenerClose(t *testing.T) {
	rt := newRuntime(t)
	ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc := ln.Accept()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := wait(t, acc); !errors.Is(err, weftnet.ErrClosed) {
		t.Fatalf("pending Accept got %v", err)
	}
	if _, err := wait(t, ln.Accept()); !errors.Is(err, weftnet.ErrClosed) {
		t.Fatalf("Accept after Close got %v", err)
	}
	if err := ln.Close(); !errors.Is(err, weftnet.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// TestCloseWrite half-closes the client: the server reads EOF after the data
// and can still answer it.
func TestCloseWrite(t *testing.T) {
	rt := newRuntime(t)
	l, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		b, err := io.ReadAll(c)
		if err == nil {
			_, err = c.Write(append(b, '!'))
		}
		done <- err
	}()
	c, err := wait(t, weftnet.Dial(context.Background(), rt, "tcp", l.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := wait(t, c.WriteAll([]byte("half"))); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := wait(t, c.Write([]byte("x"))); !errors.Is(err, weftnet.ErrWriteClosed) {
		t.Fatalf("write after CloseWrite: %v", err)
	}
	got, err := io.ReadAll(c.NetConn())
	if err != nil || string(got) != "half!" {
		t.Fatalf("got %q, %v", got, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWriteBackpressure checks that WriteAll waits while the peer does not
// read, that the write deadline ends the wait, and that the stream works
// again once the peer reads.
func TestWriteBackpressure(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt)
	c, s := pair(t, rt, ln)
	defer c.Close()
	defer s.Close()
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	chunk := make([]byte, 64<<10)
	var sent int
	for i := 0; ; i++ {
		n, err := wait(t, c.WriteAll(chunk))
		sent += n
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %v, want deadline", err)
			}
			break
		}
		if i > 10000 {
			t.Fatal("writes never waited for the peer")
		}
	}
	c.SetWriteDeadline(time.Time{})
	last := c.WriteAll([]byte("end"))
	got, err := io.ReadAll(io.LimitReader(s.NetConn(), int64(sent+3)))
	if err != nil || len(got) != sent+3 || string(got[sent:]) != "end" {
		t.Fatalf("read %d bytes (%v), want %d ending in end", len(got), err, sent+3)
	}
	if _, err := wait(t, last); err != nil {
		t.Fatal(err)
	}
}

// TestHalfCloseServer: with HalfClose a server stream reads the client's
// request to EOF and still answers on the same connection.
func TestHalfCloseServer(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt, weftnet.HalfClose(true))
	acc := ln.Accept()
	c, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := wait(t, acc)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("question"))
	c.(*stdnet.TCPConn).CloseWrite()
	req, err := io.ReadAll(s.NetConn())
	if err != nil || string(req) != "question" {
		t.Fatalf("server read %q, %v", req, err)
	}
	if _, err := wait(t, s.WriteAll([]byte("answer"))); err != nil {
		t.Fatalf("write after peer EOF: %v", err)
	}
	s.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "answer" {
		t.Fatalf("client got %q, %v", got, err)
	}
}

// TestPeerCloseFailsWrites: without HalfClose a peer's close makes writes
// fail, which is how a pool sees a dead idle connection without reading.
func TestPeerCloseFailsWrites(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt)
	c, s := pair(t, rt, ln)
	defer s.Close()
	c.Close()
	if _, err := wait(t, s.Read(make([]byte, 1))); err != io.EOF {
		t.Fatalf("read: %v, want EOF", err)
	}
	if _, err := wait(t, s.Write(nil)); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write after peer close: %v, want EPIPE", err)
	}
}

// countEOF answers with the number of bytes it saw once the peer
// half-closes, then closes.
type countEOF struct{}

func (h *countEOF) OnOpen(s *weftnet.Stream) { s.SetContext(0) }
func (h *countEOF) OnData(s *weftnet.Stream, in []byte) int {
	s.SetContext(s.Context().(int) + len(in))
	return len(in)
}
func (h *countEOF) OnClose(*weftnet.Stream, error) {}
func (h *countEOF) OnReadEOF(s *weftnet.Stream) bool {
	s.Send([]byte(strconv.Itoa(s.Context().(int))))
	s.Close()
	return true
}

func TestEventReadEOF(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt, weftnet.WithHandler(&countEOF{}))
	c, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(make([]byte, 12345))
	c.(*stdnet.TCPConn).CloseWrite()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "12345" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestCloseWithTaskInAccept: a task blocked in Accept().Join() does not hold
// up rt.Close: the Accept fails with ErrClosed.
func TestCloseWithTaskInAccept(t *testing.T) {
	rt, err := weft.New(weft.Loops(1), weft.Workers(1))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := task.Spawn(rt, func(context.Context) (*weftnet.Stream, error) { return ln.Accept().Join() })
	closed := make(chan error, 1)
	go func() { closed <- rt.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("rt.Close hung on a task waiting in Accept")
	}
	if _, err := wait(t, h.Future()); !errors.Is(err, weftnet.ErrClosed) {
		t.Fatalf("Accept in task: %v", err)
	}
}

// TestReusePortAndIPv6 runs a futures echo over a ReusePort runtime, on IPv4
// and (where the machine has it) on ::1.
func TestReusePortAndIPv6(t *testing.T) {
	rt, err := weft.New(weft.Loops(2), weft.ReusePort(true))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for _, tc := range []struct{ network, addr string }{
		{"tcp4", "127.0.0.1:0"},
		{"tcp6", "[::1]:0"},
	} {
		ln, err := weftnet.Listen(rt, tc.network, tc.addr)
		if err != nil {
			if tc.network == "tcp6" {
				t.Logf("no IPv6 loopback: %v", err)
				continue
			}
			t.Fatal(err)
		}
		futuresEcho(ln)
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			echoClient(rt, ln.Addr().String(), 8<<10, int64(i), func(err error) { errs <- err })
		}
		for i := 0; i < 4; i++ {
			select {
			case err := <-errs:
				if err != nil {
					t.Fatalf("%s: %v", tc.network, err)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("%s: echo timed out", tc.network)
			}
		}
		ln.Close()
	}
}

// TestDialHostName resolves on the blocking pool; localhost comes from
// /etc/hosts, so no DNS traffic leaves the machine.
func TestDialHostName(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt)
	_, port, _ := stdnet.SplitHostPort(ln.Addr().String())
	acc := ln.Accept()
	c, err := wait(t, weftnet.Dial(context.Background(), rt, "tcp4", "localhost:"+port))
	if err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	defer c.Close()
	s, err := wait(t, acc)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestDialAfterClose(t *testing.T) {
	rt, err := weft.New(weft.Loops(1))
	if err != nil {
		t.Fatal(err)
	}
	rt.Close()
	l, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := wait(t, weftnet.Dial(context.Background(), rt, "tcp", l.Addr().String())); !errors.Is(err, weftnet.ErrClosed) {
		t.Fatalf("Dial on a closed runtime: %v, want ErrClosed", err)
	}
	if _, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0"); err == nil {
		t.Fatal("Listen on a closed runtime succeeded")
	}
}
