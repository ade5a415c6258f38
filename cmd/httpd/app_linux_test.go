package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	wfs "github.com/weftrt/weft/fs"
	"github.com/weftrt/weft/http"
)

// lockedBuffer collects log output written from loops and other goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the demo in-process on a free port and stops it when the test
// ends. cfg fields left empty take the defaults main would use.
func start(t *testing.T, cfg config) (*app, *lockedBuffer) {
	t.Helper()
	d := defaultConfig()
	d.Addr = "127.0.0.1:0"
	d.Loops, d.Workers = 2, 2
	if cfg.Mode != "" {
		d.Mode = cfg.Mode
	}
	if cfg.Stall != 0 {
		d.Stall = cfg.Stall
	}
	d.Root, d.AccessLog, d.Pprof, d.extra, d.files = cfg.Root, cfg.AccessLog, cfg.Pprof, cfg.extra, cfg.files
	if cfg.Balancer != "" {
		d.Balancer = cfg.Balancer
	}
	d.ReusePort = cfg.ReusePort
	if cfg.Loops != 0 {
		d.Loops = cfg.Loops
	}
	logs := &lockedBuffer{}
	d.Logger = slog.New(slog.NewTextHandler(logs, nil))
	a, err := newServer(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.shutdown(ctx)
	})
	return a, logs
}

func client(t *testing.T) *nethttp.Client {
	tr := &nethttp.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &nethttp.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse }}
}

type result struct {
	code int
	hdr  nethttp.Header
	body string
}

func do(t *testing.T, cl *nethttp.Client, method, url string, hdr ...string) result {
	t.Helper()
	req, err := nethttp.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, string(b)}
}

// raw sends target exactly as written (no client-side cleaning of dot
// segments or escapes) and returns the status.
func raw(t *testing.T, addr, target string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
	resp, err := nethttp.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// eachMode runs a test under every -mode: the static handler reads through
// fs off the loop (auto, scheduler, blocking) and through os on it
// (inline); and under auto with fs's blocking-pool backend forced.
func eachMode(t *testing.T, fn func(t *testing.T, m config)) {
	for _, mode := range []string{"auto", "inline", "scheduler", "blocking"} {
		t.Run(mode, func(t *testing.T) { fn(t, config{Mode: mode}) })
	}
	t.Run("auto-fs-pool", func(t *testing.T) { fn(t, config{Mode: "auto", files: wfs.Pool}) })
}

func TestRoutes(t *testing.T) {
	for _, mode := range []string{"auto", "inline", "scheduler", "blocking"} {
		t.Run(mode, func(t *testing.T) {
			a, _ := start(t, config{Mode: mode})
			base := "http://" + a.addr.String()
			cl := client(t)
			for _, tc := range []struct {
				path, ctype, body string
			}{
				{"/plaintext", "text/plain", "Hello, World!"},
				{"/json", "application/json", `{"message":"Hello, World!"}`},
				{"/", "text/html; charset=utf-8", "weft httpd"},
				{"/stats", "text/html; charset=utf-8", "/stats.json"},
				{"/static/hello.txt", "text/plain; charset=utf-8", "Hello from weft"},
				{"/static/", "text/html; charset=utf-8", "Static files"},
				{"/static/weft.svg", "image/svg+xml", "<svg"},
				{"/static/style.css", "text/css; charset=utf-8", "font"},
			} {
				r := do(t, cl, "GET", base+tc.path)
				if r.code != 200 || r.hdr.Get("Content-Type") != tc.ctype || !strings.Contains(r.body, tc.body) {
					t.Errorf("GET %s: %d %q %.60q", tc.path, r.code, r.hdr.Get("Content-Type"), r.body)
				}
			}
			if r := do(t, cl, "GET", base+"/plaintext"); r.body != "Hello, World!" || r.hdr.Get("Server") != "weft" {
				t.Errorf("/plaintext: %q, Server %q", r.body, r.hdr.Get("Server"))
			}
			if r := do(t, cl, "GET", base+"/nope"); r.code != 404 {
				t.Errorf("/nope: %d", r.code)
			}
			if r := do(t, cl, "GET", base+"/static"); r.code != 301 || r.hdr.Get("Location") != "/static/" {
				t.Errorf("/static: %d %q", r.code, r.hdr.Get("Location"))
			}
			r := do(t, cl, "GET", base+"/stats.json")
			var s statsDoc
			if err := json.Unmarshal([]byte(r.body), &s); err != nil || r.code != 200 {
				t.Fatalf("/stats.json: %d %v %q", r.code, err, r.body)
			}
			var accepted int64
			for _, l := range s.Loops {
				accepted += l.Accepted
			}
			if len(s.Loops) != 2 || accepted == 0 || s.Scheduler.Workers != 2 ||
				s.HTTP.Routes["/plaintext"] != 2 || s.HTTP.Status["2xx"] < 9 || s.HTTP.Status["4xx"] != 1 {
				t.Fatalf("/stats.json figures: %s", r.body)
			}
			if mode == "scheduler" && s.Scheduler.Spawned == 0 {
				t.Fatalf("scheduler mode spawned no tasks: %s", r.body)
			}
		})
	}
}

func TestStaticNoEscape(t *testing.T) { eachMode(t, testStaticNoEscape) }

func testStaticNoEscape(t *testing.T, m config) {
	// A root with a file, a link that stays inside and links that point out.
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	os.MkdirAll(filepath.Join(root, "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "in.txt"), []byte("inside"), 0o644)
	os.WriteFile(filepath.Join(root, ".secret"), []byte("dot"), 0o644)
	os.WriteFile(filepath.Join(dir, "outside.txt"), []byte("outside"), 0o644)
	for _, l := range [][2]string{
		{"../in.txt", "sub/link-in.txt"},
		{filepath.Join(dir, "outside.txt"), "link-out.txt"},
		{"../outside.txt", "sub/../rel-out.txt"},
		{dir, "dir-out"},
		{"/etc/passwd", "passwd"},
	} {
		if err := os.Symlink(l[0], filepath.Join(root, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := start(t, config{Root: root, Mode: m.Mode, files: m.files})
	addr := a.addr.String()

	for target, want := range map[string][]int{
		"/static/in.txt":               {200},
		"/static/sub/link-in.txt":      {200},
		"/static/../go.mod":            {403, 404},
		"/static/%2e%2e/go.mod":        {403, 404},
		"/static/%2E%2E/go.mod":        {403, 404},
		"/static/%2e%2e%2fgo.mod":      {403, 404},
		"/static/..%2fgo.mod":          {403, 404},
		"/static/sub/../../go.mod":     {403, 404},
		"/static/sub/%2e%2e/in.txt":    {403, 404},
		"/static/%2e%2e/outside.txt":   {403, 404},
		"/static/link-out.txt":         {403, 404},
		"/static/rel-out.txt":          {403, 404},
		"/static/dir-out/outside.txt":  {403, 404},
		"/static/passwd":               {403, 404},
		"/static/.secret":              {403, 404},
		"/static/in.txt%00":            {400, 403, 404},
		"/static/%zz":                  {400},
		"/static/..\\outside.txt":      {400, 403, 404},
		"/static/nonexistent":          {404},
		"/static/sub":                  {301},
		"/static/sub/":                 {404}, // no index.html
		"/static//..//..//outside.txt": {403, 404},
	} {
		got := raw(t, addr, target)
		ok := false
		for _, w := range want {
			ok = ok || got == w
		}
		if !ok {
			t.Errorf("GET %s: %d, want one of %v", target, got, want)
		}
	}
}

func TestStaticRangeAndConditional(t *testing.T) { eachMode(t, testStaticRangeAndConditional) }

func testStaticRangeAndConditional(t *testing.T, m config) {
	dir := t.TempDir()
	body := "0123456789abcdefghij"
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte(body), 0o644)
	os.WriteFile(filepath.Join(dir, "blob"), []byte("\x00\x01\x02binary"), 0o644)
	mod := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	os.Chtimes(filepath.Join(dir, "f.txt"), mod, mod)
	a, _ := start(t, config{Root: dir, Mode: m.Mode, files: m.files})
	url := "http://" + a.addr.String() + "/static/f.txt"
	cl := client(t)

	r := do(t, cl, "GET", url)
	lm := r.hdr.Get("Last-Modified")
	if r.code != 200 || r.body != body || lm != mod.Format(nethttp.TimeFormat) || r.hdr.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("GET: %d %q Last-Modified %q", r.code, r.body, lm)
	}
	for _, tc := range []struct {
		rng, crange, body string
		code              int
	}{
		{"bytes=0-4", "bytes 0-4/20", "01234", 206},
		{"bytes=15-", "bytes 15-19/20", "fghij", 206},
		{"bytes=-3", "bytes 17-19/20", "hij", 206},
		{"bytes=18-100", "bytes 18-19/20", "ij", 206},
		{"bytes=-100", "bytes 0-19/20", body, 206},
		{"bytes=20-", "bytes */20", "", 416},
		{"bytes=-0", "bytes */20", "", 416},
		{"bytes=0-1,4-5", "", body, 200}, // several ranges: the whole file
		{"bytes=5-2", "", body, 200},     // malformed: ignored
		{"lines=1-2", "", body, 200},
	} {
		r := do(t, cl, "GET", url, "Range", tc.rng)
		if r.code != tc.code || r.hdr.Get("Content-Range") != tc.crange || (tc.code != 416 && r.body != tc.body) {
			t.Errorf("Range %s: %d %q %q", tc.rng, r.code, r.hdr.Get("Content-Range"), r.body)
		}
	}
	if r := do(t, cl, "GET", url, "Range", "bytes=0-4", "If-Range", lm); r.code != 206 {
		t.Errorf("If-Range current: %d", r.code)
	}
	if r := do(t, cl, "GET", url, "Range", "bytes=0-4", "If-Range", mod.Add(-time.Hour).Format(nethttp.TimeFormat)); r.code != 200 || r.body != body {
		t.Errorf("If-Range stale: %d %q", r.code, r.body)
	}

	if r := do(t, cl, "GET", url, "If-Modified-Since", lm); r.code != 304 || r.body != "" || r.hdr.Get("Last-Modified") != lm {
		t.Errorf("If-Modified-Since same: %d %q", r.code, r.body)
	}
	if r := do(t, cl, "GET", url, "If-Modified-Since", mod.Add(time.Hour).Format(nethttp.TimeFormat)); r.code != 304 {
		t.Errorf("If-Modified-Since later: %d", r.code)
	}
	if r := do(t, cl, "GET", url, "If-Modified-Since", mod.Add(-time.Second).Format(nethttp.TimeFormat)); r.code != 200 || r.body != body {
		t.Errorf("If-Modified-Since earlier: %d", r.code)
	}
	if r := do(t, cl, "GET", url, "If-Modified-Since", "yesterday"); r.code != 200 {
		t.Errorf("If-Modified-Since garbage: %d", r.code)
	}

	if r := do(t, cl, "HEAD", url); r.code != 200 || r.hdr.Get("Content-Length") != "20" || r.body != "" {
		t.Errorf("HEAD: %d %q %q", r.code, r.hdr.Get("Content-Length"), r.body)
	}
	if r := do(t, cl, "POST", url); r.code != 405 || r.hdr.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d %q", r.code, r.hdr.Get("Allow"))
	}
	if r := do(t, cl, "GET", "http://"+a.addr.String()+"/static/blob"); r.hdr.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("sniffed type: %q", r.hdr.Get("Content-Type"))
	}
}

func TestStaticLargeFile(t *testing.T) { eachMode(t, testStaticLargeFile) }

func testStaticLargeFile(t *testing.T, m config) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("weft-large-file."), 64<<10) // 1 MiB
	os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644)
	a, _ := start(t, config{Root: dir, Mode: m.Mode, files: m.files})
	cl := client(t)
	r := do(t, cl, "GET", "http://"+a.addr.String()+"/static/big.bin")
	if r.code != 200 || r.body != string(big) {
		t.Fatalf("1 MiB file: %d, %d bytes", r.code, len(r.body))
	}
	r = do(t, cl, "GET", "http://"+a.addr.String()+"/static/big.bin", "Range", "bytes=1000000-1000015")
	if r.code != 206 || r.body != string(big[1000000:1000016]) {
		t.Fatalf("range of 1 MiB file: %d %q", r.code, r.body)
	}
}

func TestGracefulShutdownInFlight(t *testing.T) {
	for _, mode := range []string{"auto", "inline", "scheduler"} {
		t.Run(mode, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			slow := http.HandlerFunc(func(w *http.ResponseWriter, r *http.Request) {
				once.Do(func() { close(entered) })
				<-release
				w.WriteString("finished")
			})
			a, _ := start(t, config{Mode: mode, Stall: time.Hour, extra: map[string]http.Handler{"/slow": slow}})
			addr := a.addr.String()
			cl := client(t)
			idle := do(t, cl, "GET", "http://"+addr+"/plaintext") // leaves an idle keep-alive connection
			if idle.code != 200 {
				t.Fatal(idle.code)
			}

			got := make(chan result, 1)
			go func() {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					got <- result{body: err.Error()}
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := nethttp.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					got <- result{body: err.Error()}
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				got <- result{resp.StatusCode, resp.Header, string(b)}
			}()
			<-entered

			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				done <- a.shutdown(ctx)
			}()
			select {
			case err := <-done:
				t.Fatalf("shutdown returned (%v) with a request in flight", err)
			case r := <-got:
				t.Fatalf("in-flight request answered before release: %+v", r)
			case <-time.After(100 * time.Millisecond):
				// Neither may happen while the handler runs; this bounds the look.
			}
			close(release)
			r := <-got
			if r.code != 200 || r.body != "finished" {
				t.Fatalf("in-flight request: %d %q", r.code, r.body)
			}
			if err := <-done; err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Fatal("still accepting after shutdown")
			}
		})
	}
}

// The default mode (auto) watches the routes it runs inline as -mode
// inline does.
func TestWatchdogLogsLoopSleepOnce(t *testing.T) {
	for _, mode := range []string{"auto", "inline"} {
		t.Run(mode, func(t *testing.T) { testWatchdogLogsLoopSleepOnce(t, mode) })
	}
}

func testWatchdogLogsLoopSleepOnce(t *testing.T, mode string) {
	sleepy := http.HandlerFunc(func(w *http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // holds the loop: the bug the watchdog is for
		w.WriteString("slept")
	})
	a, logs := start(t, config{Mode: mode, extra: map[string]http.Handler{"/sleep": sleepy}})
	base := "http://" + a.addr.String()
	cl := client(t)
	for i := 0; i < 10; i++ {
		do(t, cl, "GET", base+"/plaintext")
	}
	if r := do(t, cl, "GET", base+"/sleep"); r.code != 200 || r.body != "slept" {
		t.Fatalf("/sleep: %d %q", r.code, r.body)
	}
	for i := 0; i < 10; i++ {
		do(t, cl, "GET", base+"/plaintext")
	}
	a.wd.Close() // waits for the sampler: a report it was writing is complete
	out := logs.String()
	// Counted for this route only: on a loaded machine a descheduled loop
	// thread can make some other request look slow too.
	if n := countReports(out, "GET /sleep"); n != 1 {
		t.Fatalf("%d watchdog reports for GET /sleep, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, `route="GET /sleep"`) || !strings.Contains(out, "time.Sleep") {
		t.Fatalf("report without route or stack:\n%s", out)
	}
	// The reactor's watchdog saw the same turn, and left it to the http one.
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "a callback held") && strings.Contains(l, "testWatchdogLogsLoopSleepOnce") {
			t.Fatalf("handler stall reported twice:\n%s", l)
		}
	}
	var s statsDoc
	json.Unmarshal([]byte(do(t, cl, "GET", base+"/stats.json").body), &s)
	if s.HTTP.Stalls < 1 || s.Stalls["GET /sleep"] != 1 {
		t.Fatalf("stalls in /stats.json: %d %v", s.HTTP.Stalls, s.Stalls)
	}
}

// A callback that is not a handler (here a loop timer) holding the loop is
// reported by the reactor's watchdog, once, at the function that blocks.
func TestCallbackStallReported(t *testing.T) {
	a, logs := start(t, config{})
	done := make(chan struct{})
	a.rt.Reactor().Loops()[0].AfterFunc(0, func() { sleepyTimer(done) })
	<-done
	a.stopLoopWatch() // waits for the sampler
	out := logs.String()
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "a callback held its event loop") && strings.Contains(l, "at=github.com/weftrt/weft/cmd/httpd.sleepyTimer") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d reports of the sleeping timer, want 1:\n%s", n, out)
	}
	var s statsDoc
	json.Unmarshal([]byte(do(t, client(t), "GET", "http://"+a.addr.String()+"/stats.json").body), &s)
	if s.HTTP.LoopStalls < 1 {
		t.Fatalf("callback_stalls = %d", s.HTTP.LoopStalls)
	}
}

func sleepyTimer(done chan<- struct{}) {
	time.Sleep(300 * time.Millisecond)
	close(done)
}

// countReports counts the watchdog's log lines (one per report: slog
// quotes the stack) for route.
func countReports(logs, route string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "held its event loop") && strings.Contains(l, `route="`+route+`"`) {
			n++
		}
	}
	return n
}

func TestAccessLogAndPprof(t *testing.T) {
	a, logs := start(t, config{AccessLog: true, Pprof: "127.0.0.1:0"})
	cl := client(t)
	do(t, cl, "GET", "http://"+a.addr.String()+"/plaintext?x=1")
	if r := do(t, cl, "GET", "http://"+a.pprofA.String()+"/debug/pprof/"); r.code != 200 || !strings.Contains(r.body, "goroutine") {
		t.Fatalf("pprof index: %d", r.code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`msg=request .*method=GET target="/plaintext\?x=1" status=200`).MatchString(logs.String()) {
		t.Fatalf("no access log line:\n%s", logs.String())
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []config{
		{Addr: "127.0.0.1:0", Balancer: "random"},
		{Addr: "127.0.0.1:0", Mode: "threads"},
		{Addr: "127.0.0.1:0", Mode: "inline", Pprof: "0.0.0.0:6060"},
		{Addr: "127.0.0.1:0", Mode: "inline", Root: "/nonexistent/weft"},
		{Addr: "127.0.0.1:notaport", Mode: "inline"},
	} {
		if a, err := newServer(cfg); err == nil {
			a.shutdown(context.Background())
			t.Errorf("newServer(%+v) accepted it", cfg)
		}
	}
	if _, _, err := parseFlags([]string{"-loops", "x"}, io.Discard); err == nil {
		t.Error("-loops x accepted")
	}
	if _, _, err := parseFlags([]string{"extra"}, io.Discard); err == nil {
		t.Error("stray argument accepted")
	}
	cfg, grace, err := parseFlags([]string{"-addr", "127.0.0.1:9", "-loops", "3", "-workers", "4", "-balancer", "least-conns",
		"-reuseport", "-root", "/tmp", "-log", "-pprof", "127.0.0.1:6060", "-mode", "scheduler", "-stall", "50ms", "-grace", "2s"}, io.Discard)
	if err != nil || cfg.Addr != "127.0.0.1:9" || cfg.Loops != 3 || cfg.Workers != 4 || cfg.Balancer != "least-conns" ||
		!cfg.ReusePort || cfg.Root != "/tmp" || !cfg.AccessLog || cfg.Pprof != "127.0.0.1:6060" || cfg.Mode != "scheduler" ||
		cfg.Stall != 50*time.Millisecond || grace != 2*time.Second {
		t.Fatalf("flags: %+v %v %v", cfg, grace, err)
	}
}

func TestBalancersAndReusePort(t *testing.T) {
	for _, c := range []config{{Balancer: "least-conns"}, {Balancer: "source-hash"}, {ReusePort: true}} {
		a, _ := start(t, c)
		if r := do(t, client(t), "GET", "http://"+a.addr.String()+"/plaintext"); r.body != "Hello, World!" {
			t.Fatalf("%+v: %q", c, r.body)
		}
	}
}

// TestBinarySIGTERM builds the command and checks what a user sees: it
// serves, and SIGTERM ends it with status 0.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "httpd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-loops", "1", "-workers", "1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	br := bufio.NewReader(stderr)
	line, err := br.ReadString('\n')
	m := regexp.MustCompile(`addr=http://(\S+)`).FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("first log line %q: %v", line, err)
	}
	if r := do(t, client(t), "GET", "http://"+m[1]+"/plaintext"); r.body != "Hello, World!" {
		t.Fatalf("/plaintext: %q", r.body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(br)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, rest)
	}
	if !strings.Contains(string(rest), "httpd: stopped") {
		t.Fatalf("no clean stop in the log:\n%s", rest)
	}
}

// The hot routes add nothing to the server's own zero-allocation path.
func TestHotRoutesDoNotAllocate(t *testing.T) {
	a, _ := start(t, config{})
	h := a.srv.Handler
	for _, path := range []string{"/plaintext", "/json", "/"} {
		r := &http.Request{Method: []byte("GET"), Path: []byte(path), Target: []byte(path)}
		var w http.ResponseWriter
		h.ServeHTTP(&w, r) // warm up: grow the writer's buffers once
		if n := testing.AllocsPerRun(200, func() { h.ServeHTTP(&w, r) }); n != 0 {
			t.Errorf("%s: %.1f allocations per request", path, n)
		}
	}
}

func TestWatchdogOnlyOnTheLoop(t *testing.T) {
	a, _ := start(t, config{Mode: "scheduler"})
	if a.wd != nil {
		t.Fatal("watchdog wraps handlers that run off the loop")
	}
	if a.stopLoopWatch == nil {
		t.Fatal("no reactor watchdog: callbacks still run on the loops")
	}
}

func BenchmarkServePlaintext(b *testing.B) {
	a, err := newServer(config{Addr: "127.0.0.1:0", Loops: 1, Workers: 1, Mode: "inline", Stall: http.DefaultStallThreshold,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer a.shutdown(context.Background())
	r := &http.Request{Method: []byte("GET"), Path: []byte("/plaintext"), Target: []byte("/plaintext")}
	// The writer is not reset between calls (that is the server's job), so
	// its buffer keeps growing: the few bytes per op reported are that.
	var w http.ResponseWriter
	h := a.srv.Handler
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(&w, r)
	}
}

// A 16 MiB file sent to a client that reads slowly must not hold the loop:
// in the default mode the static handler reads through fs on the blocking
// pool and waits there for the client, while the loop (the only one) goes
// on serving other connections, and neither watchdog sees a stall.
func TestStaticLargeFileDoesNotStallLoop(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 16<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>13)
	}
	os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644)
	a, logs := start(t, config{Root: dir, Loops: 1, Stall: 20 * time.Millisecond})
	if a.static.fsys == nil {
		t.Fatal("default mode reads static files without fs")
	}
	slow, err := net.DialTimeout("tcp", a.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.(*net.TCPConn).SetReadBuffer(16 << 10)
	slow.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(slow, "GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReaderSize(slow, 4<<10)
	resp, err := nethttp.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(big)) {
		t.Fatalf("big file: %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	got := make([]byte, 0, len(big))
	readSome := func(n int) {
		t.Helper()
		chunk := make([]byte, 4<<10)
		for end := min(len(got)+n, len(big)); len(got) < end; {
			k, err := resp.Body.Read(chunk[:min(len(chunk), end-len(got))])
			got = append(got, chunk[:k]...)
			if err != nil {
				if err == io.EOF && len(got) == len(big) {
					return
				}
				t.Fatalf("after %d bytes: %v", len(got), err)
			}
		}
	}

	cl := client(t)
	url := "http://" + a.addr.String() + "/plaintext"
	// In rounds: a little of the file, then the loop must answer others
	// while the rest of the file waits on this client.
	for round := 0; round < 8; round++ {
		readSome(256 << 10)
		for i := 0; i < 5; i++ {
			if r := do(t, cl, "GET", url); r.code != 200 || r.body != helloWorld {
				t.Fatalf("round %d: /plaintext during the file: %d %q", round, r.code, r.body)
			}
		}
	}
	if len(got) >= len(big) {
		t.Fatal("the file was read whole before the rounds ended: nothing was tested")
	}
	readSome(len(big))
	if !bytes.Equal(got, big) {
		t.Fatalf("16 MiB file: %d bytes, not the file", len(got))
	}
	if n, m := a.loopStalls.Load(), a.wd.Stalls(); n != 0 || m != 0 {
		t.Fatalf("loop stalls %d, handler stalls %d:\n%s", n, m, logs.String())
	}
}

// Shutdown lets a static response being streamed off the loop finish, and
// only then closes fs under it.
func TestShutdownFinishesStaticStream(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
	os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644)
	a, _ := start(t, config{Root: dir, Loops: 1})
	c, err := net.DialTimeout("tcp", a.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(16 << 10)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := nethttp.ReadResponse(bufio.NewReaderSize(c, 4<<10), nil)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- a.shutdown(ctx)
	}()
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("after %d bytes: %v", len(head)+len(rest), err)
	}
	if !bytes.Equal(append(head, rest...), big) {
		t.Fatalf("%d bytes, not the file", len(head)+len(rest))
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
