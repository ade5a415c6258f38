package http

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	nethttp "net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/scheduler"
)

// serve starts s on a fresh reactor group and scheduler and tears all of it
// down when the test ends.
func serve(t testing.TB, s *Server) string {
	t.Helper()
	g, err := reactor.NewGroup(reactor.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	sch := scheduler.New(scheduler.Workers(2), scheduler.BlockingPool(128))
	if s.ErrorLog == nil {
		s.ErrorLog = log.New(io.Discard, "", 0)
	}
	addr, err := s.Listen(On(g, sch), "127.0.0.1:0")
	if err != nil {
		g.Close()
		sch.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		g.Close()
		sch.Close()
	})
	return addr.String()
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func newClient(t testing.TB) *nethttp.Client {
	tr := &nethttp.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &nethttp.Client{Transport: tr, Timeout: 20 * time.Second}
}

// echo answers with the method, path, query and body it got.
var echo = HandlerFunc(func(w *ResponseWriter, r *Request) {
	w.SetContentType("text/plain")
	w.AddHeader("X-Path", string(r.Path))
	w.AddHeader("X-Chunked", fmt.Sprint(r.Chunked))
	w.WriteString(string(r.Method))
	w.WriteString(" ")
	w.Write(r.Path)
	if len(r.Query) > 0 {
		w.WriteString("?")
		w.Write(r.Query)
	}
	if len(r.Body) > 0 {
		w.WriteString(" ")
		w.Write(r.Body)
	}
})

var modes = []struct {
	name string
	mode Mode
}{{"inline", ModeInline}, {"scheduler", ModeScheduler}, {"blocking", ModeBlocking}}

func TestServerKeepAliveAndChunkedUpload(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := serve(t, &Server{Handler: echo, Mode: m.mode})
			cl := newClient(t)
			reused := 0
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
				if i.Reused {
					reused++
				}
			}}
			for i := 0; i < 5; i++ {
				req, _ := nethttp.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
					"GET", fmt.Sprintf("http://%s/get/%d?x=%d", addr, i, i), nil)
				resp, err := cl.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := fmt.Sprintf("GET /get/%d?x=%d", i, i); string(b) != want || resp.StatusCode != 200 {
					t.Fatalf("got %d %q, want %q", resp.StatusCode, b, want)
				}
				if resp.Header.Get("Date") == "" {
					t.Fatal("no Date header")
				}
			}
			// An io.Reader of unknown length makes the client send chunked.
			payload := strings.Repeat("0123456789", 5000)
			pr, pw := io.Pipe()
			go func() {
				for i := 0; i < len(payload); i += 7000 {
					pw.Write([]byte(payload[i:min(i+7000, len(payload))]))
				}
				pw.Close()
			}()
			req, _ := nethttp.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", "http://"+addr+"/up", pr)
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "POST /up "+payload || resp.Header.Get("X-Chunked") != "true" {
				t.Fatalf("chunked upload: %d bytes back, X-Chunked %q", len(b), resp.Header.Get("X-Chunked"))
			}
			if reused != 5 {
				t.Fatalf("%d of 6 requests reused the connection, want 5", reused)
			}
		})
	}
}

// readResponses reads n responses from br with the standard client parser.
func readResponses(t *testing.T, br *bufio.Reader, n int, method string) []string {
	t.Helper()
	var bodies []string
	for i := 0; i < n; i++ {
		resp, err := nethttp.ReadResponse(br, &nethttp.Request{Method: method})
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d body: %v", i, err)
		}
		bodies = append(bodies, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	return bodies
}

func TestServerPipelined16(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			addr := serve(t, &Server{Handler: echo, Mode: m.mode})
			c := dial(t, addr)
			var batch bytes.Buffer
			for i := 0; i < 16; i++ {
				if i == 5 {
					fmt.Fprintf(&batch, "POST /p%d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", i)
					continue
				}
				fmt.Fprintf(&batch, "GET /p%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
			}
			if _, err := c.Write(batch.Bytes()); err != nil { // one write
				t.Fatal(err)
			}
			got := readResponses(t, bufio.NewReader(c), 16, "GET")
			for i, g := range got {
				want := fmt.Sprintf("200 GET /p%d", i)
				if i == 5 {
					want = "200 POST /p5 abc"
				}
				if g != want {
					t.Fatalf("response %d = %q, want %q", i, g, want)
				}
			}
		})
	}
}

func TestServerBadRequests(t *testing.T) {
	addr := serve(t, &Server{Handler: NonBlocking(echo), Limits: Limits{MaxBodyBytes: 10}})
	for _, tc := range []struct {
		raw    string
		status int
	}{
		{"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"GET / HTTP/2.0\r\n\r\n", 505},
		{"GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n\r\n", 414},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 17000) + "\r\n\r\n", 431},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", 413},
		{"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400},
	} {
		c := dial(t, addr)
		c.Write([]byte(tc.raw))
		br := bufio.NewReader(c)
		resp, err := nethttp.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.raw[:16], err)
		}
		io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || !resp.Close {
			t.Fatalf("%q: status %d close %v, want %d and close", tc.raw[:16], resp.StatusCode, resp.Close, tc.status)
		}
		if n, err := br.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("%q: connection not closed: %d %v", tc.raw[:16], n, err)
		}
	}
}

func TestServerHTTP10AndHead(t *testing.T) {
	addr := serve(t, &Server{Handler: NonBlocking(echo)})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	c.Write([]byte("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"))
	resp, err := nethttp.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "GET /a" || resp.Close {
		t.Fatalf("1.0 keep-alive: %q close %v", b, resp.Close)
	}
	resp, err = nethttp.ReadResponse(br, &nethttp.Request{Method: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != int64(len("HEAD /b")) {
		t.Fatalf("HEAD content-length %d", resp.ContentLength)
	}
	c.Write([]byte("GET /c HTTP/1.0\r\n\r\n"))
	resp, err = nethttp.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	if string(b) != "GET /c" || !resp.Close {
		t.Fatalf("1.0: %q close %v", b, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("HTTP/1.0 without keep-alive left the connection open: %v", err)
	}
}

func TestServerExpectContinue(t *testing.T) {
	addr := serve(t, &Server{Handler: echo})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	c.Write([]byte("PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"))
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim: %q %v", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("interim end %q", blank)
	}
	c.Write([]byte("hello"))
	if got := readResponses(t, br, 1, "PUT"); got[0] != "200 PUT /e hello" {
		t.Fatalf("got %q", got)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServerPanic(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var logs syncBuf
			h := HandlerFunc(func(w *ResponseWriter, r *Request) {
				if string(r.Path) == "/panic" {
					w.WriteString("partial")
					panic("boom")
				}
				echo(w, r)
			})
			addr := serve(t, &Server{Handler: h, Mode: m.mode, ErrorLog: log.New(&logs, "", 0)})
			c := dial(t, addr)
			c.Write([]byte("GET /panic HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n"))
			got := readResponses(t, bufio.NewReader(c), 2, "GET")
			if got[0] != "500 Internal Server Error\n" || got[1] != "200 GET /after" {
				t.Fatalf("got %q", got)
			}
			if !strings.Contains(logs.String(), "boom") {
				t.Fatalf("panic not logged: %q", logs.String())
			}
		})
	}
}

// A client that sends one header byte per second is closed once the
// read-header timeout has passed, however steadily it trickles.
func TestServerSlowHeaderClient(t *testing.T) {
	const timeout = 2 * time.Second
	addr := serve(t, &Server{Handler: NonBlocking(echo), ReadHeaderTimeout: timeout})
	c := dial(t, addr)
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		b := make([]byte, 64)
		for {
			if _, err := c.Read(b); err != nil {
				closed <- time.Since(start)
				return
			}
		}
	}()
	req := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 100)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		if _, err := c.Write([]byte{req[i]}); err != nil {
			break // the server closed first
		}
		select {
		case d := <-closed:
			if d < timeout {
				t.Fatalf("closed after %v, before the %v timeout", d, timeout)
			}
			if d > timeout+2*time.Second {
				t.Fatalf("closed after %v, long after the %v timeout", d, timeout)
			}
			return
		case <-tick.C:
		case <-time.After(10 * time.Second):
			t.Fatal("slow client never closed")
		}
	}
	if d := <-closed; d < timeout {
		t.Fatalf("closed after %v", d)
	}
}

func TestServerIdleTimeout(t *testing.T) {
	addr := serve(t, &Server{Handler: NonBlocking(echo), IdleTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	readResponses(t, br, 1, "GET")
	start := time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v", err)
	}
	// The server stamps the request before the client has read the
	// response, so the client's clock starts a little late: allow it that
	// (microseconds on a quiet machine), but no more.
	if d := time.Since(start); d < 300*time.Millisecond-20*time.Millisecond || d > 3*time.Second {
		t.Fatalf("idle close after %v", d)
	}
}

func TestServerShutdownInFlight(t *testing.T) {
	const n = 100
	started := make(chan struct{}, n)
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	// A failure below must not leave handlers blocked, or the cleanup's Close
	// would wait for them until the test binary times out.
	defer releaseAll()
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path) == "/fast" {
			w.WriteString("fast")
			return
		}
		started <- struct{}{}
		<-release
		w.WriteString("done")
	})
	s := &Server{Handler: h, Mode: ModeBlocking}
	addr := serve(t, s)
	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		c := dial(t, addr)
		c.Write([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
		go func() {
			resp, err := nethttp.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				results <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			results <- result{resp.StatusCode, string(b), err}
		}()
	}
	for i := 0; i < n; i++ {
		<-started
	}
	// An idle keep-alive connection is closed by Shutdown. It is served once
	// first: a connection still in the listener's backlog when the listener
	// closes would be reset by the kernel instead, which is not what this
	// test is about.
	idle := dial(t, addr)
	idle.Write([]byte("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"))
	idleR := bufio.NewReader(idle)
	if resp, err := nethttp.ReadResponse(idleR, nil); err != nil {
		t.Fatalf("idle connection's first request: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	if _, err := idleR.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection during shutdown: %v", err)
	}
	// The listener is closed before the idle connections: dials are refused now.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("new connection accepted during shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with requests in flight", err)
	default:
	}
	releaseAll()
	for i := 0; i < n; i++ {
		r := <-results
		if r.err != nil || r.status != 200 || r.body != "done" {
			t.Fatalf("in-flight request: %+v", r)
		}
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// plaintext is the TechEmpower plaintext handler.
var plaintext = NonBlocking(HandlerFunc(func(w *ResponseWriter, r *Request) {
	w.SetContentType("text/plain")
	w.WriteString("Hello, World!")
}))

func TestServerZeroAllocs(t *testing.T) {
	addr := serve(t, &Server{Handler: plaintext})
	c := dial(t, addr)
	req := []byte("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 4096)
	roundTrip := func(reqs []byte, n int) {
		c.Write(reqs)
		got := 0
		for got < n {
			k, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got += bytes.Count(buf[:k], []byte("Hello, World!"))
		}
	}
	roundTrip(req, 1)
	if a := testing.AllocsPerRun(2000, func() { roundTrip(req, 1) }); a != 0 {
		t.Errorf("%v allocations per request", a)
	}
	batch := bytes.Repeat(req, 16)
	if a := testing.AllocsPerRun(500, func() { roundTrip(batch, 16) }); a != 0 {
		t.Errorf("%v allocations per 16-request batch", a)
	}
}

func BenchmarkServerPlaintext(b *testing.B) {
	for _, depth := range []int{1, 16} {
		b.Run(fmt.Sprintf("pipeline%d", depth), func(b *testing.B) {
			addr := serve(b, &Server{Handler: plaintext})
			c := dial(b, addr)
			batch := bytes.Repeat([]byte("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"), depth)
			buf := make([]byte, 64<<10)
			b.ReportAllocs()
			for b.Loop() {
				c.Write(batch)
				got := 0
				for got < depth {
					k, err := c.Read(buf)
					if err != nil {
						b.Fatal(err)
					}
					got += bytes.Count(buf[:k], []byte("Hello, World!"))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*depth), "ns/req")
		})
	}
}

// A client that stops reading is dropped once its output has made no
// progress for the write timeout.
func TestServerWriteTimeout(t *testing.T) {
	big := strings.Repeat("x", 32<<20)
	h := NonBlocking(HandlerFunc(func(w *ResponseWriter, r *Request) { w.WriteString(big) }))
	s := &Server{Handler: h, WriteTimeout: 300 * time.Millisecond}
	addr := serve(t, s)
	c := dial(t, addr)
	c.(*net.TCPConn).SetReadBuffer(4096)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if _, err := c.Read(make([]byte, 1)); err != nil { // the response has started
		t.Fatal(err)
	}
	waitActive(t, s, 0) // and the client reads no more: the server gives up
	if n, _ := io.Copy(io.Discard, c); n >= int64(len(big)) {
		t.Fatalf("read the whole %d-byte body from a dropped connection", n)
	}
}

func TestServerConnectionCloseAndServerName(t *testing.T) {
	addr := serve(t, &Server{Handler: NonBlocking(echo), ServerName: "weft"})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	c.Write([]byte("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\nHost: x\r\n\r\n"))
	resp, err := nethttp.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "GET /a" || !resp.Close || resp.Header.Get("Server") != "weft" {
		t.Fatalf("%q close %v server %q", b, resp.Close, resp.Header.Get("Server"))
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection open after Connection: close: %v", err)
	}
}

// A handler on the loop can stream: Flush sends what it has, chunked, in
// order with the pipelined responses around it.
func TestServerInlineFlush(t *testing.T) {
	h := NonBlocking(HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path) != "/stream" {
			echo(w, r)
			return
		}
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "part%d;", i)
			if err := w.Flush(); err != nil {
				t.Error(err)
			}
		}
	}))
	addr := serve(t, &Server{Handler: h})
	c := dial(t, addr)
	c.Write([]byte("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"))
	got := readResponses(t, bufio.NewReader(c), 3, "GET")
	if got[0] != "200 GET /a" || got[1] != "200 part0;part1;part2;" || got[2] != "200 GET /b" {
		t.Fatalf("got %q", got)
	}
}
