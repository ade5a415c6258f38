package http

import (
	"bufio"
	"bytes"
	"io"
	"log"
	nethttp "net/http"
	"sync/atomic"
	"testing"

	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/scheduler"
)

// chooser runs /off on the blocking pool and everything else inline, and
// answers with where it actually ran. /off waits for release first, so a
// test can hold it while the loop serves others.
type chooser struct {
	loop    *reactor.Loop
	asked   atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func (h *chooser) InlineFor(r *Request) bool {
	h.asked.Add(1)
	return string(r.Path) != "/off"
}

func (h *chooser) ServeHTTP(w *ResponseWriter, r *Request) {
	if string(r.Path) == "/off" {
		h.entered <- struct{}{}
		<-h.release
	}
	if h.loop.InLoop() {
		w.WriteString("inline")
	} else {
		w.WriteString("off")
	}
}

func TestModeAutoPerRequest(t *testing.T) {
	g, err := reactor.NewGroup(reactor.Loops(1))
	if err != nil {
		t.Fatal(err)
	}
	sch := scheduler.New(scheduler.Workers(1), scheduler.BlockingPool(8))
	h := &chooser{loop: g.Loops()[0], entered: make(chan struct{}, 1), release: make(chan struct{})}
	s := &Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	a, err := s.Listen(On(g, sch), "127.0.0.1:0")
	if err != nil {
		g.Close()
		sch.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); g.Close(); sch.Close() })
	addr := a.String()
	get := func(br *bufio.Reader) string {
		t.Helper()
		resp, err := nethttp.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}

	slow := dial(t, addr)
	slow.Write([]byte("GET /off HTTP/1.1\r\nHost: x\r\n\r\nGET /in HTTP/1.1\r\nHost: x\r\n\r\n"))
	<-h.entered
	// /off holds a pool worker, not the only loop: another connection is
	// served inline meanwhile.
	fast := dial(t, addr)
	fast.Write([]byte("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"))
	fbr := bufio.NewReader(fast)
	if got := get(fbr); got != "inline" {
		t.Fatalf("/plaintext ran %q", got)
	}
	close(h.release)
	sbr := bufio.NewReader(slow)
	if got := get(sbr); got != "off" {
		t.Fatalf("/off ran %q", got)
	}
	// The pipelined request behind it is asked again, and runs inline.
	if got := get(sbr); got != "inline" {
		t.Fatalf("/in after /off ran %q", got)
	}
	if n := h.asked.Load(); n != 3 {
		t.Fatalf("InlineFor asked %d times, want 3", n)
	}

	// The inline path stays allocation-free with a chooser.
	req := []byte("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 4096)
	rt := func() {
		fast.Write(req)
		for got := 0; got < 1; {
			k, err := fast.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got += bytes.Count(buf[:k], []byte("inline"))
		}
	}
	rt()
	if n := testing.AllocsPerRun(1000, rt); n != 0 {
		t.Errorf("%v allocations per inline request under a chooser", n)
	}
}
