package http

import (
	"bufio"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestStressCycles runs connect-request-close cycles (200,000 in the long
// form) through every way a connection can end (the client closes, the
// server closes on Connection: close, the client resets, an HTTP/1.0 client)
// and checks that the server gives back everything: descriptors, goroutines
// and memory.
func TestStressCycles(t *testing.T) {
	n := stressScale(5000, 200000)
	for _, m := range []struct {
		name string
		h    Handler
		mode Mode
	}{
		{"inline", pathEcho, ModeInline},
		{"blocking", HandlerFunc(func(w *ResponseWriter, r *Request) { w.Write(r.Path) }), ModeBlocking},
	} {
		t.Run(m.name, func(t *testing.T) {
			if _, err := raiseNofile(); err != nil {
				t.Fatal(err)
			}
			gStart := runtime.NumGoroutine()
			ss := startStress(t, &Server{Handler: m.h, Mode: m.mode})
			// One warm-up round trip, so that buffers, pools and the date
			// cache exist before the baseline is taken.
			if lost := runCycles(t, ss.addr, 64, 8); lost != 0 {
				t.Fatalf("warm-up lost %d", lost)
			}
			eventually(t, 10*time.Second, "warm-up connections still open", func() bool { return ss.active.Load() == 0 })
			fdBefore, gBefore := openFDs(t), runtime.NumGoroutine()
			heapBefore, rssBefore := heapAfterGC(), procStatusKB("VmRSS")

			start := time.Now()
			lost := runCycles(t, ss.addr, n, 8)
			took := time.Since(start)
			if lost != 0 {
				t.Fatalf("%d of %d cycles lost", lost, n)
			}
			eventually(t, 30*time.Second, "server connections still open after the cycles", func() bool { return ss.active.Load() == 0 })
			eventually(t, 10*time.Second, "descriptors left behind", func() bool { return openFDs(t) <= fdBefore })
			fdAfter := openFDs(t)
			heapAfter, rssAfter := heapAfterGC(), procStatusKB("VmRSS")
			gAfter := runtime.NumGoroutine()
			if m.mode == ModeInline && gAfter > gBefore {
				t.Fatalf("goroutines %d after the cycles, %d before", gAfter, gBefore)
			}
			// Back near the start: what the cycles leave is pooled buffers,
			// not a per-connection residue (which would be megabytes here).
			if slack := uint64(4 << 20); heapAfter > heapBefore+slack {
				t.Fatalf("heap %d B after the cycles, %d B before", heapAfter, heapBefore)
			}
			ss.stop()
			eventually(t, 10*time.Second, "goroutines left after the server stopped", func() bool { return runtime.NumGoroutine() <= gStart })
			t.Logf("%d cycles in %v (%.0f/s), lost %d; fds %d -> %d; goroutines %d -> %d (%d once stopped, %d at start); heap %.2f -> %.2f MiB; RSS %d -> %d KiB, peak %d KiB",
				n, took.Round(time.Millisecond), float64(n)/took.Seconds(), lost, fdBefore, fdAfter, gBefore, gAfter, runtime.NumGoroutine(), gStart,
				float64(heapBefore)/(1<<20), float64(heapAfter)/(1<<20), rssBefore, rssAfter, procStatusKB("VmHWM"))
		})
	}
}

// runCycles makes n connections from w goroutines, one request on each,
// ending each a different way; it returns how many did not get their
// complete response.
func runCycles(t testing.TB, addr string, n, w int) (lost int) {
	t.Helper()
	var bad atomic.Int64
	var firstErr atomic.Value
	parallel(n, w, func(i int) bool {
		if err := cycle(addr, i); err != nil {
			bad.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Errorf("cycle %d: %w", i, err))
		}
		return true
	})
	if e := firstErr.Load(); e != nil {
		t.Logf("first failure: %v", e)
	}
	return int(bad.Load())
}

func cycle(addr string, i int) error {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	path := "/cycle/" + strconv.Itoa(i)
	var req string
	switch i % 4 {
	case 0, 2: // keep-alive: the client closes (FIN, or RST for 2)
		req = "GET " + path + " HTTP/1.1\r\nHost: s\r\n\r\n"
	case 1: // the server closes
		req = "GET " + path + " HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n"
	case 3: // HTTP/1.0 without keep-alive: the server closes
		req = "GET " + path + " HTTP/1.0\r\n\r\n"
	}
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	br := bufio.NewReaderSize(c, 512)
	resp, err := nethttp.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || string(b) != path {
		return fmt.Errorf("got %d %q", resp.StatusCode, b)
	}
	switch i % 4 {
	case 1, 3:
		if _, err := br.ReadByte(); err != io.EOF {
			return fmt.Errorf("server did not close: %v", err)
		}
	case 2:
		c.(*net.TCPConn).SetLinger(0)
	}
	return nil
}
