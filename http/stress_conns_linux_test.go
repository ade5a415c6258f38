package http

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func init() { stressChildren["hold"] = holdChild }

// pathEcho answers with the request path: each client can check that it got
// its own response and not a neighbour's.
var pathEcho = NonBlocking(HandlerFunc(func(w *ResponseWriter, r *Request) {
	w.Write(r.Path)
}))

// TestStressHeldConnections holds many keep-alive connections open at once
// (18,000 in the long form), opened by clients in other processes, and
// serves every one of them once more at the end: an idle connection must be
// cheap enough to keep and must still work when its client comes back.
func TestStressHeldConnections(t *testing.T) {
	n := stressScale(2000, 18000)
	limit, err := raiseNofile()
	if err != nil {
		t.Fatal(err)
	}
	if int(limit) < n+512 {
		t.Skipf("RLIMIT_NOFILE hard limit %d is too low for %d connections", limit, n)
	}
	perChild := 1000
	if stressLong() {
		perChild = 6000
	}
	ss := startStress(t, &Server{Handler: pathEcho, IdleTimeout: 10 * time.Minute})
	fdBefore, gBefore := openFDs(t), runtime.NumGoroutine()
	heapBefore := heapAfterGC()
	start := time.Now()

	var kids []*child
	for left := n; left > 0; left -= perChild {
		k := min(left, perChild)
		kids = append(kids, startChild(t, 5*time.Minute, "hold", ss.addr, strconv.Itoa(k)))
	}
	// Counted now, so that the goroutines serving the pipes to the
	// children are in the baseline.
	gBase := runtime.NumGoroutine()
	held := 0
	for _, c := range kids {
		f := c.expect(3*time.Minute, "ready")
		held += atoi(t, f[0])
	}
	opened := time.Since(start)
	if held != n {
		t.Fatalf("%d of %d connections served their first request", held, n)
	}
	// Every client has its first response, so every connection has been
	// accepted and is now idle on the server.
	if a := ss.active.Load(); a != int64(n) {
		t.Fatalf("server holds %d connections, want %d", a, n)
	}
	fdHeld := openFDs(t)
	if fdHeld-fdBefore < n {
		t.Fatalf("server process has %d more descriptors, want at least %d", fdHeld-fdBefore, n)
	}
	heapHeld := heapAfterGC()
	// An idle keep-alive connection holds no buffer (DESIGN: well under
	// 1 KiB of heap); 4 KiB leaves room for the race detector's shadow.
	if perConn := (int64(heapHeld) - int64(heapBefore)) / int64(n); perConn > 4<<10 {
		t.Fatalf("%d B of heap per idle connection", perConn)
	}
	rssHeld := procStatusKB("VmRSS")
	gHeld := runtime.NumGoroutine()
	if gHeld > gBase+2 {
		// No goroutine per connection: that is what makes 18,000 cheap.
		t.Fatalf("goroutines %d with %d connections held, %d before", gHeld, n, gBase)
	}

	for _, c := range kids {
		c.send("again")
	}
	again, lost := 0, 0
	for _, c := range kids {
		f := c.expect(3*time.Minute, "done")
		again += atoi(t, f[0])
		lost += atoi(t, f[1])
	}
	if again != n || lost != 0 {
		t.Fatalf("second round: %d served, %d lost, of %d", again, lost, n)
	}
	for _, c := range kids {
		c.wait(time.Minute)
	}
	eventually(t, time.Minute, "server connections did not all close", func() bool { return ss.active.Load() == 0 })
	eventually(t, 10*time.Second, "descriptors left behind", func() bool { return openFDs(t) <= fdBefore })
	t.Logf("held %d connections (opened in %v), served %d again, lost %d; server fds %d -> %d -> %d; goroutines %d -> %d -> %d; "+
		"heap %.1f MiB -> %.1f MiB (%d B/conn); RSS held %d KiB, peak %d KiB",
		held, opened.Round(time.Millisecond), again, lost, fdBefore, fdHeld, openFDs(t), gBefore, gHeld, runtime.NumGoroutine(),
		float64(heapBefore)/(1<<20), float64(heapHeld)/(1<<20), (int64(heapHeld)-int64(heapBefore))/int64(n), rssHeld, procStatusKB("VmHWM"))
}

// holdChild opens n connections, each served once; reports "ready n"; on
// "again" serves each once more and reports "done ok lost"; closes them all
// when its stdin closes.
func holdChild(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: hold addr n")
	}
	addr := args[0]
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	conns := make([]*heldConn, n)
	var firstErr atomic.Value
	ok := parallel(n, 32, func(i int) bool {
		c, err := net.DialTimeout("tcp", addr, 30*time.Second)
		if err != nil {
			firstErr.CompareAndSwap(nil, err)
			return false
		}
		conns[i] = &heldConn{c: c, r: bufio.NewReaderSize(c, 256)}
		if err := conns[i].roundTrip(i); err != nil {
			firstErr.CompareAndSwap(nil, err)
			return false
		}
		return true
	})
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "first error: %v\n", e)
	}
	fmt.Println("ready", ok)
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "again" {
		return errors.New("no 'again' from the parent")
	}
	ok = parallel(n, 32, func(i int) bool {
		if conns[i] == nil {
			return false
		}
		if err := conns[i].roundTrip(i); err != nil {
			firstErr.CompareAndSwap(nil, err)
			return false
		}
		return true
	})
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "first error: %v\n", e)
	}
	fmt.Println("done", ok, n-ok)
	for in.Scan() {
	}
	for _, c := range conns {
		if c != nil {
			c.c.Close()
		}
	}
	return nil
}

type heldConn struct {
	c net.Conn
	r *bufio.Reader
}

func (h *heldConn) roundTrip(i int) error {
	h.c.SetDeadline(time.Now().Add(2 * time.Minute))
	path := "/held/" + strconv.Itoa(i)
	if _, err := io.WriteString(h.c, "GET "+path+" HTTP/1.1\r\nHost: stress\r\n\r\n"); err != nil {
		return err
	}
	resp, err := nethttp.ReadResponse(h.r, nil)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || string(b) != path || resp.Close {
		return fmt.Errorf("conn %d: %d %q close=%v", i, resp.StatusCode, b, resp.Close)
	}
	return nil
}

// parallel runs f(0..n-1) on w goroutines and counts the true results.
func parallel(n, w int, f func(i int) bool) int {
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if f(i) {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(ok.Load())
}
