package net_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrt/weft"
	weftnet "github.com/weftrt/weft/net"
	"github.com/weftrt/weft/task"
)

// The stress tests have a short form, run by every `go test`, and a long
// form for WEFT_STRESS=long (see README, "Stress tests").
func stressScale(short, long int) int {
	if os.Getenv("WEFT_STRESS") == "long" {
		return long
	}
	return short
}

func stressFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1
}

func stressHeap() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// errStuck marks a future that never completed: the failure these tests
// exist to catch. It is returned rather than t.Fatal'd, as most waits run
// on goroutines other than the test's.
var errStuck = errors.New("future did not complete in 30s")

func stressAwait[T any](_ testing.TB, f *task.Future[T]) (T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := f.Await(ctx)
	if ctx.Err() != nil {
		return v, errStuck
	}
	return v, err
}

func stressEventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		<-tick.C
	}
}

// lineEcho is an event-face server: it answers each line it receives, and
// closes after a line "bye".
type lineEcho struct{ open atomic.Int64 }

func (h *lineEcho) OnOpen(*weftnet.Stream) { h.open.Add(1) }
func (h *lineEcho) OnData(s *weftnet.Stream, in []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(in[n:], '\n')
		if i < 0 {
			return n
		}
		line := in[n : n+i+1]
		n += i + 1
		s.Send(line)
		if string(line) == "bye\n" {
			s.Close()
			return len(in)
		}
	}
}
func (h *lineEcho) OnClose(*weftnet.Stream, error) { h.open.Add(-1) }

// TestStressStreamCycles dials and closes streams over and over, clients on
// the futures face (weft Dial, WriteAll, Read) and the server on the event
// face, ending each connection a different way, and checks that
// descriptors, goroutines and memory all come back.
func TestStressStreamCycles(t *testing.T) {
	n := stressScale(5000, 100000)
	gStart := runtime.NumGoroutine()
	rt, err := weft.New(weft.Loops(2), weft.Workers(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	h := &lineEcho{}
	ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0", weftnet.WithHandler(h))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	cycle := func(i int) error {
		c, err := stressAwait(t, weftnet.Dial(context.Background(), rt, "tcp", addr))
		if err != nil {
			return err
		}
		defer c.Close()
		msg := "ping " + strconv.Itoa(i) + "\n"
		if i%3 == 1 {
			msg += "bye\n" // the server closes
		}
		if _, err := stressAwait(t, c.WriteAll([]byte(msg))); err != nil {
			return err
		}
		got := make([]byte, 0, len(msg))
		buf := make([]byte, 64)
		for len(got) < len(msg) {
			k, err := stressAwait(t, c.Read(buf))
			got = append(got, buf[:k]...)
			if err != nil {
				return fmt.Errorf("read after %q: %w", got, err)
			}
		}
		if string(got) != msg {
			return fmt.Errorf("got %q, want %q", got, msg)
		}
		if i%3 == 1 {
			if _, err := stressAwait(t, c.Read(buf)); err != io.EOF {
				return fmt.Errorf("server did not close: %v", err)
			}
		}
		if i%3 == 2 {
			// Leave a read pending: Close must fail it, not leak it.
			c.Read(buf)
		}
		return nil
	}
	run := func(count int) (lost int) {
		var bad atomic.Int64
		var first atomic.Value
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= count {
						return
					}
					if err := cycle(i); err != nil {
						bad.Add(1)
						first.CompareAndSwap(nil, fmt.Errorf("cycle %d: %w", i, err))
					}
				}
			}()
		}
		wg.Wait()
		if e := first.Load(); e != nil {
			t.Logf("first failure: %v", e)
		}
		return int(bad.Load())
	}
	if lost := run(64); lost != 0 {
		t.Fatalf("warm-up lost %d", lost)
	}
	stressEventually(t, 10*time.Second, "warm-up streams still open", func() bool { return h.open.Load() == 0 })
	fdBefore, gBefore, heapBefore := stressFDs(t), runtime.NumGoroutine(), stressHeap()
	start := time.Now()
	if lost := run(n); lost != 0 {
		t.Fatalf("%d of %d cycles lost", lost, n)
	}
	took := time.Since(start)
	stressEventually(t, 30*time.Second, "server streams still open", func() bool { return h.open.Load() == 0 })
	stressEventually(t, 10*time.Second, "descriptors left behind", func() bool { return stressFDs(t) <= fdBefore })
	stressEventually(t, 10*time.Second, "goroutines left behind", func() bool { return runtime.NumGoroutine() <= gBefore })
	heapAfter := stressHeap()
	fdAfter, gAfter := stressFDs(t), runtime.NumGoroutine()
	if heapAfter > heapBefore+4<<20 {
		t.Fatalf("heap %d B after the cycles, %d B before", heapAfter, heapBefore)
	}
	ln.Close()
	rt.Close()
	stressEventually(t, 10*time.Second, "goroutines left after the runtime closed", func() bool { return runtime.NumGoroutine() <= gStart })
	t.Logf("%d stream cycles in %v (%.0f/s), lost 0; fds %d -> %d; goroutines %d -> %d (%d once closed, %d at start); heap %.2f -> %.2f MiB",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), fdBefore, fdAfter, gBefore, gAfter, runtime.NumGoroutine(), gStart,
		float64(heapBefore)/(1<<20), float64(heapAfter)/(1<<20))
}

// TestStressStreamResets: peers that reset (SO_LINGER 0) while a stream has
// a Read pending, or while a large WriteAll is under way, fail those
// futures with an error; nothing hangs or panics, and a stream on the same
// loops goes on working throughout.
func TestStressStreamResets(t *testing.T) {
	k := stressScale(50, 1000)
	rt, err := weft.New(weft.Loops(2), weft.Workers(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	fdBefore := stressFDs(t)

	// A bystander pair, echoing throughout.
	bacc := ln.Accept()
	bc, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	bs, err := stressAwait(t, bacc)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	stop := make(chan struct{})
	bystander := make(chan error, 1)
	var echoed atomic.Int64
	go func() {
		buf := make([]byte, 16)
		for i := 0; ; i++ {
			select {
			case <-stop:
				bystander <- nil
				return
			default:
			}
			msg := []byte(fmt.Sprintf("%015d", i))
			bc.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := bc.Write(msg); err != nil {
				bystander <- err
				return
			}
			if _, err := stressAwait(t, bs.WriteAll(mustRead(t, bs, 15))); err != nil {
				bystander <- err
				return
			}
			if _, err := io.ReadFull(bc, buf[:15]); err != nil || !bytes.Equal(buf[:15], msg) {
				bystander <- fmt.Errorf("echo %q: %v", buf[:15], err)
				return
			}
			echoed.Add(1)
		}
	}()

	rst := func(c stdnet.Conn) {
		c.(*stdnet.TCPConn).SetLinger(0)
		c.Close()
	}
	big := make([]byte, 8<<20)
	var wg sync.WaitGroup
	errs := make(chan error, 2*k)
	for i := 0; i < 2*k; i++ {
		acc := ln.Accept()
		c, err := stdnet.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		s, err := stressAwait(t, acc)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close()
			if i%2 == 0 {
				// Reset while the stream waits in Read.
				f := s.Read(make([]byte, 64))
				c.Write([]byte("part"))
				if n, err := stressAwait(t, f); err != nil || n != 4 {
					errs <- fmt.Errorf("first read: %d %v", n, err)
					rst(c)
					return
				}
				f = s.Read(make([]byte, 64))
				rst(c)
				if _, err := stressAwait(t, f); err == nil || err == errStuck {
					errs <- fmt.Errorf("read pending at a reset: %v", err)
				}
				return
			}
			// Reset in the middle of a large write.
			f := s.WriteAll(big)
			if _, err := io.ReadFull(c, make([]byte, 64<<10)); err != nil {
				errs <- fmt.Errorf("client read: %w", err)
			}
			rst(c)
			if n, err := stressAwait(t, f); err == nil || err == errStuck || n >= len(big) {
				errs <- fmt.Errorf("write to a reset peer: %d bytes, %v", n, err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-bystander; err != nil {
		t.Fatalf("bystander stream: %v", err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	bc.Close()
	bs.Close()
	stressEventually(t, 10*time.Second, "descriptors left behind", func() bool { return stressFDs(t) <= fdBefore })
	t.Logf("%d resets during a pending read, %d during a large write; bystander echoed %d times meanwhile", k, k, echoed.Load())
}

func mustRead(t testing.TB, s *weftnet.Stream, n int) []byte {
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for len(out) < n {
		k, err := stressAwait(t, s.Read(buf[:n-len(out)]))
		out = append(out, buf[:k]...)
		if err != nil {
			return out
		}
	}
	return out
}
