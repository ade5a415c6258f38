package reactor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// ---- echo throughput: reactor vs goroutine-per-connection std net ----

// stdEchoServer is the classic Go server: one goroutine per connection, blocking I/O.
func stdEchoServer(tb testing.TB) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 16<<10)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// echoLoad runs b.N messages of msgSize bytes spread over conns connections, depth
// messages in flight per connection (1 = ping-pong).
func echoLoad(b *testing.B, addr string, conns, msgSize, depth int) {
	b.Helper()
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}
	var next atomic.Int64
	b.SetBytes(int64(msgSize))
	b.ResetTimer()
	var eg errgroup.Group
	for _, c := range cs {
		eg.Go(func() error {
			msg := bytes.Repeat([]byte{'e'}, msgSize*depth)
			buf := make([]byte, msgSize*depth)
			for next.Add(int64(depth)) <= int64(b.N)+int64(depth)-1 {
				if _, err := c.Write(msg); err != nil {
					return err
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
}

// BenchmarkEcho compares ping-pong echo throughput and allocations of the reactor with a
// goroutine-per-connection std net server, same client, same run.
func BenchmarkEcho(b *testing.B) {
	for _, tc := range []struct{ size, conns, depth int }{
		{64, 1, 1}, {64, 64, 1}, {4096, 1, 1}, {4096, 64, 1}, {64, 64, 16},
	} {
		{
			size, conns, depth := tc.size, tc.conns, tc.depth
			name := fmt.Sprintf("msg=%d/conns=%d/depth=%d", size, conns, depth)
			b.Run("reactor/"+name, func(b *testing.B) {
				b.ReportAllocs()
				g, err := NewGroup(Loops(1))
				if err != nil {
					b.Fatal(err)
				}
				defer g.Close()
				ln, err := g.Listen("tcp", "127.0.0.1:0", &echoHandler{})
				if err != nil {
					b.Fatal(err)
				}
				echoLoad(b, ln.Addr().String(), conns, size, depth)
			})
			b.Run("stdnet/"+name, func(b *testing.B) {
				b.ReportAllocs()
				addr, stop := stdEchoServer(b)
				defer stop()
				echoLoad(b, addr, conns, size, depth)
			})
		}
	}
}

// TestEchoHotPathAllocs proves that a round trip through the reactor (read, OnData,
// Write, writev) allocates nothing once the connection is warm; the client side (std net
// Write and ReadFull on preallocated buffers) allocates nothing either.
func TestEchoHotPathAllocs(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	ln := listenEcho(t, g, nil)
	c := dial(t, ln.Addr())
	msg := []byte("HELLO WORLD[1]")
	buf := make([]byte, len(msg))
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rt := func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		rt()
	}
	if a := testing.AllocsPerRun(1000, rt); a > 0.05 {
		t.Fatalf("%.2f allocations per echo round trip, want 0", a)
	}
}

// ---- memory per idle keep-alive connection ----

func init() {
	childModes["idleclient"] = idleClient
}

// idleClient (child process) opens WEFT_IDLE_N connections to WEFT_IDLE_ADDR, makes one
// request on each (WEFT_IDLE_PROTO: echo or http), prints "ready", and keeps them open
// until its stdin closes.
func idleClient() int {
	addr := os.Getenv("WEFT_IDLE_ADDR")
	n, _ := strconv.Atoi(os.Getenv("WEFT_IDLE_N"))
	proto := os.Getenv("WEFT_IDLE_PROTO")
	if err := raiseLimit(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	conns := make([]net.Conn, n)
	var eg errgroup.Group
	eg.SetLimit(32)
	for i := range conns {
		eg.Go(func() error {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				return err
			}
			conns[i] = c
			c.SetDeadline(time.Now().Add(30 * time.Second))
			if proto == "http" {
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
					return err
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			} else {
				if _, err := roundTrip(c, []byte("ping"), make([]byte, 4)); err != nil {
					return err
				}
			}
			c.SetDeadline(time.Time{})
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, "idle client:", err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return 0
}

func raiseLimit() error {
	var r syscallRlimit
	return r.raise()
}

type memSnap struct{ heap, stack, rss uint64 }

func snapshot() memSnap {
	debug.FreeOSMemory() // GC and give freed pages back, so RSS tracks live memory
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnap{heap: ms.HeapAlloc, stack: ms.StackInuse, rss: rssBytes()}
}

func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

type idleResult struct{ heap, stack, rss float64 }

// measureIdle starts the idle client against addr, waits until the server reports n open
// connections, and returns the server's growth per connection.
func measureIdle(tb testing.TB, addr, proto string, n int, open func() int) idleResult {
	tb.Helper()
	before := snapshot()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=idleclient", "WEFT_IDLE_ADDR="+addr,
		"WEFT_IDLE_N="+strconv.Itoa(n), "WEFT_IDLE_PROTO="+proto)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			tb.Errorf("idle client: %v\n%s", err, stderr.Bytes())
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		tb.Fatalf("idle client: %q %v\n%s", line, err, stderr.Bytes())
	}
	deadline := time.Now().Add(30 * time.Second)
	for open() != n {
		if time.Now().After(deadline) {
			tb.Fatalf("server sees %d of %d connections", open(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	after := snapshot()
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	return idleResult{heap: per(after.heap, before.heap), stack: per(after.stack, before.stack), rss: per(after.rss, before.rss)}
}

func reactorIdle(tb testing.TB, n int) idleResult {
	g, err := NewGroup(Loops(2))
	if err != nil {
		tb.Fatal(err)
	}
	defer g.Close()
	ln, err := g.Listen("tcp", "127.0.0.1:0", &echoHandler{})
	if err != nil {
		tb.Fatal(err)
	}
	open := func() int {
		total := 0
		for _, l := range g.Loops() {
			total += int(l.Stats().Conns)
		}
		return total
	}
	return measureIdle(tb, ln.Addr().String(), "echo", n, open)
}

func netHTTPIdle(tb testing.TB, n int) idleResult {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var idle atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateIdle:
				idle.Add(1)
			case http.StateActive:
				// A keep-alive connection goes active -> idle per request; count idle ones.
			}
		},
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			tb.Error(err)
		}
	}()
	return measureIdle(tb, ln.Addr().String(), "http", n, func() int { return int(idle.Load()) })
}

// BenchmarkIdleConnMemory reports the server's memory per idle keep-alive connection,
// 10,000 of them opened by a client in another process: the reactor, and net/http
// measured the same way. Run it once: -benchtime=1x.
func BenchmarkIdleConnMemory(b *testing.B) {
	const n = 10000
	if lim := raiseFdLimit(b); lim < n+500 {
		b.Skipf("RLIMIT_NOFILE %d too low", lim)
	}
	for name, f := range map[string]func(testing.TB, int) idleResult{"reactor": reactorIdle, "nethttp": netHTTPIdle} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var r idleResult
			for i := 0; i < b.N; i++ {
				r = f(b, n)
			}
			b.ReportMetric(r.heap, "heapB/conn")
			b.ReportMetric(r.stack, "stackB/conn")
			b.ReportMetric(r.rss, "rssB/conn")
		})
	}
}

// TestIdleConnHeap is the benchmark's claim as a test, at a smaller scale: an idle
// keep-alive connection costs the reactor well under 1 KiB of Go heap.
func TestIdleConnHeap(t *testing.T) {
	const n = 2000
	if lim := raiseFdLimit(t); lim < n+500 {
		t.Skipf("RLIMIT_NOFILE %d too low", lim)
	}
	r := reactorIdle(t, n)
	t.Logf("per idle conn: heap %.0f B, stacks %.0f B, RSS %.0f B", r.heap, r.stack, r.rss)
	if r.heap >= 1024 {
		t.Fatalf("%.0f B of Go heap per idle connection, want < 1024", r.heap)
	}
}
