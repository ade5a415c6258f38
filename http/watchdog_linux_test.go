package http

import (
	"bytes"
	"io"
	"log"
	"log/slog"
	nethttp "net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/scheduler"
)

// watchLogBuffer is a log destination the loop and the sampler both write to.
type watchLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *watchLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *watchLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sleepOnLoop blocks the loop it runs on: exactly what the watchdog is for.
func sleepOnLoop(w *ResponseWriter, r *Request) {
	if string(r.Path) == "/slow" {
		time.Sleep(300 * time.Millisecond)
	}
	w.WriteString("ok")
}

func watchServe(t *testing.T, h Handler) string {
	t.Helper()
	g, err := reactor.NewGroup(reactor.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	sch := scheduler.New(scheduler.Workers(1))
	s := &Server{Handler: h, Mode: ModeInline, ErrorLog: log.New(io.Discard, "", 0)}
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

func watchClient(t *testing.T) *nethttp.Client {
	tr := &nethttp.Transport{MaxIdleConnsPerHost: 2}
	t.Cleanup(tr.CloseIdleConnections)
	return &nethttp.Client{Transport: tr, Timeout: 10 * time.Second}
}

func watchGet(t *testing.T, cl *nethttp.Client, url string) {
	t.Helper()
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, b)
	}
}

func TestWatchdogLogsSleepingHandlerOnce(t *testing.T) {
	var logs watchLogBuffer
	wd := NewWatchdog(StallLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	defer wd.Close()
	addr := watchServe(t, wd.Wrap(HandlerFunc(sleepOnLoop)))
	cl := watchClient(t)

	for i := 0; i < 20; i++ {
		watchGet(t, cl, "http://"+addr+"/fast")
	}
	watchGet(t, cl, "http://"+addr+"/slow")
	for i := 0; i < 20; i++ {
		watchGet(t, cl, "http://"+addr+"/fast")
	}
	// Close waits for the sampler, so a report it was finishing is written.
	wd.Close()

	// Counted for this route only: on a loaded machine a descheduled loop
	// thread can make a fast request look slow too.
	out := logs.String()
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "held its event loop") && strings.Contains(l, `route="GET /slow"`) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d stall reports for GET /slow, want 1:\n%s", n, out)
	}
	if got := wd.StallCounts()["GET /slow"]; got != 1 {
		t.Fatalf("counted %d stalls of GET /slow, want 1", got)
	}
	for _, want := range []string{`route="GET /slow"`, "time.Sleep", "sleepOnLoop"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestWatchdogReportsARouteOnceCountsEveryStall(t *testing.T) {
	var logs watchLogBuffer
	wd := NewWatchdog(StallLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		StallRoute(func(r *Request) string { return "slow-route" }))
	defer wd.Close()
	addr := watchServe(t, wd.Wrap(HandlerFunc(sleepOnLoop)))
	cl := watchClient(t)
	watchGet(t, cl, "http://"+addr+"/slow")
	watchGet(t, cl, "http://"+addr+"/slow")
	wd.Close()
	if n := strings.Count(logs.String(), "held its event loop"); n != 1 {
		t.Fatalf("%d reports for one route, want 1:\n%s", n, logs.String())
	}
	if got := wd.StallCounts()["slow-route"]; got != 2 || wd.Stalls() != 2 {
		t.Fatalf("counted %d (total %d), want 2", got, wd.Stalls())
	}
}

func TestWatchdogKeepsModeDeclaration(t *testing.T) {
	wd := NewWatchdog()
	defer wd.Close()
	s := &Server{Handler: wd.Wrap(NonBlocking(HandlerFunc(sleepOnLoop)))}
	if s.resolveMode() != ModeInline {
		t.Fatal("wrapped NonBlocking handler no longer runs inline")
	}
	s = &Server{Handler: wd.Wrap(HandlerFunc(sleepOnLoop))}
	if s.resolveMode() != ModeBlocking {
		t.Fatal("wrapped plain handler no longer runs on the blocking pool")
	}
}

func TestWatchdogSurvivesPanic(t *testing.T) {
	var logs watchLogBuffer
	wd := NewWatchdog(StallLogger(slog.New(slog.NewTextHandler(&logs, nil))), StallThreshold(20*time.Millisecond))
	defer wd.Close()
	addr := watchServe(t, wd.Wrap(HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path) == "/panic" {
			panic("boom")
		}
		w.WriteString("ok")
	})))
	cl := watchClient(t)
	resp, err := cl.Get("http://" + addr + "/panic")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("panic: status %d", resp.StatusCode)
	}
	// The handler's slot must not be left looking busy: the sampler would
	// take every idle moment of the loop for a stall. The loop finished the
	// deferred leave before it wrote the 500.
	for i := range wd.slots {
		s := &wd.slots[i]
		if s.owner.Load() != 0 && s.seq.Load()%2 != 0 {
			t.Fatalf("slot %d still busy after the handler panicked", i)
		}
	}
	wd.Close()
	if n := wd.StallCounts()["GET /panic"]; n != 0 {
		t.Fatalf("the panic counted as %d stalls:\n%s", n, logs.String())
	}
}

func BenchmarkWatchdogWrap(b *testing.B) {
	wd := NewWatchdog()
	defer wd.Close()
	h := wd.Wrap(HandlerFunc(func(w *ResponseWriter, r *Request) {}))
	var r Request
	var w ResponseWriter
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(&w, &r)
	}
}
