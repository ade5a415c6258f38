package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/http/pprof"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrt/weft"
	wfs "github.com/weftrt/weft/fs"
	"github.com/weftrt/weft/http"
	"github.com/weftrt/weft/reactor"
)

//go:embed web
var webFS embed.FS

var (
	errBadBalancer = errors.New("httpd: unknown balancer (want round-robin, least-conns or source-hash)")
	errBadMode     = errors.New("httpd: unknown mode (want auto, inline, scheduler or blocking)")
	errPprofPublic = errors.New("httpd: -pprof must listen on a loopback address")
	errNoReactor   = errors.New("httpd: weft's reactor is not available on this system")
)

// config is everything the flags set; the zero value is not used (see
// defaultConfig), but tests build one directly.
type config struct {
	Addr      string
	Loops     int
	Workers   int
	Balancer  string
	ReusePort bool
	Root      string
	Mode      string
	AccessLog bool
	Pprof     string
	Stall     time.Duration // watchdog threshold; 0 disables it
	Logger    *slog.Logger  // access log, watchdog and server messages

	// extra routes, for tests that need a handler the demo does not have
	// (a slow one, one that blocks the loop).
	extra map[string]http.Handler
	// files forces fs's backend, so tests cover the blocking pool where
	// io_uring works too.
	files wfs.Backend
}

func defaultConfig() config {
	return config{
		Addr:     "127.0.0.1:8080",
		Balancer: "round-robin",
		Mode:     "auto",
		Stall:    http.DefaultStallThreshold,
	}
}

// app is the demo server: a weft runtime, an http.Server on it and the
// routes. newServer starts it; shutdown stops it.
type app struct {
	cfg    config
	log    *slog.Logger
	rt     *weft.Runtime
	srv    *http.Server
	wd     *http.Watchdog
	addr   net.Addr
	static *staticFiles
	alog   *accessLog
	pprof  *nethttp.Server
	pprofA net.Addr
	start  time.Time
	index  atomic.Pointer[[]byte] // rendered before Listen, again once the port is known

	// The reactor's watchdog sees every loop turn held too long; stalls
	// inside a watched handler are left to the http watchdog, which knows
	// the route.
	stopLoopWatch func()
	loopStalls    atomic.Int64
	loopMu        sync.Mutex
	loopSeen      map[string]bool

	// Counted by the handler: the runtime keeps loop and scheduler
	// figures, the http package none, so requests are counted here.
	reqs   [numRoutes]atomic.Int64
	status [6]atomic.Int64 // by class: 1xx .. 5xx, [0] other

	closeOnce sync.Once
	closeErr  error
}

type route uint8

const (
	routeIndex route = iota
	routePlaintext
	routeJSON
	routeStats
	routeStatsJSON
	routeStatic
	routeExtra
	routeNotFound
	numRoutes
)

var routeNames = [numRoutes]string{"/", "/plaintext", "/json", "/stats", "/stats.json", "/static/", "(test)", "(not found)"}

func parseBalancer(s string) (reactor.Balancer, error) {
	switch strings.ToLower(s) {
	case "", "round-robin", "rr", "roundrobin":
		return reactor.RoundRobin(), nil
	case "least-conns", "least-connections", "lc", "leastconn":
		return reactor.LeastConnections(), nil
	case "source-hash", "hash", "sh":
		return reactor.SourceHash(), nil
	}
	return nil, fmt.Errorf("%w: %q", errBadBalancer, s)
}

func parseMode(s string) (http.Mode, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return http.ModeAuto, nil
	case "inline", "loop":
		return http.ModeInline, nil
	case "scheduler", "tasks":
		return http.ModeScheduler, nil
	case "blocking", "pool":
		return http.ModeBlocking, nil
	}
	return 0, fmt.Errorf("%w: %q", errBadMode, s)
}

// newServer builds the runtime and the server and starts listening.
func newServer(cfg config) (*app, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	bal, err := parseBalancer(cfg.Balancer)
	if err != nil {
		return nil, err
	}
	mode, err := parseMode(cfg.Mode)
	if err != nil {
		return nil, err
	}
	if cfg.Pprof != "" && !isLoopback(cfg.Pprof) {
		return nil, fmt.Errorf("%w: %q", errPprofPublic, cfg.Pprof)
	}
	static, err := openStatic(cfg.Root)
	if err != nil {
		return nil, err
	}
	if static.root == "" {
		cfg.Logger.Warn("httpd: no static folder found; /static/ answers 404", "root", cfg.Root)
	}
	rt, err := weft.New(weft.Loops(cfg.Loops), weft.Workers(cfg.Workers), weft.Balancer(bal), weft.ReusePort(cfg.ReusePort))
	if err != nil {
		return nil, err
	}
	if rt.Reactor() == nil {
		rt.Close()
		return nil, errNoReactor
	}
	a := &app{cfg: cfg, log: cfg.Logger, rt: rt, static: static, start: time.Now()}
	if mode != http.ModeInline && static.root != "" {
		// Off the loop the static handler waits on fs futures; on it
		// (-mode inline) it must not, and reads with package os.
		if static.fsys, err = wfs.New(rt, wfs.WithBackend(cfg.files)); err != nil {
			rt.Close()
			return nil, err
		}
	}
	var h http.Handler = http.HandlerFunc(a.serve)
	// Only handlers on the loops are watched: off the loop (scheduler,
	// blocking pool) a slow handler holds a worker, not a loop, by design.
	if cfg.Stall > 0 && (mode == http.ModeInline || mode == http.ModeAuto) {
		a.wd = http.NewWatchdog(http.StallThreshold(cfg.Stall), http.StallLogger(cfg.Logger),
			http.StallRoute(a.routeName))
		h = a.wd.Wrap(h)
	}
	if mode == http.ModeAuto {
		h = &perRoute{a: a, inline: h}
	}
	if cfg.Stall > 0 {
		a.loopSeen = make(map[string]bool)
		a.stopLoopWatch = rt.Reactor().Watchdog(cfg.Stall, a.loopStall)
	}
	if cfg.AccessLog {
		a.alog = newAccessLog(cfg.Logger, 4096)
	}
	a.srv = &http.Server{
		Handler:    h,
		Mode:       mode,
		ServerName: "weft",
		ErrorLog:   slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelError),
	}
	a.index.Store(a.renderIndex(cfg.Addr))
	a.addr, err = a.srv.Listen(rt, cfg.Addr)
	if err != nil {
		a.closeRest()
		return nil, err
	}
	a.index.Store(a.renderIndex(a.addr.String()))
	if cfg.Pprof != "" {
		if err := a.startPprof(cfg.Pprof); err != nil {
			a.srv.Close()
			a.closeRest()
			return nil, err
		}
	}
	return a, nil
}

// shutdown stops accepting, lets requests in flight finish, then tears the
// runtime down. If ctx ends first the remaining connections are cut.
func (a *app) shutdown(ctx context.Context) error {
	a.closeOnce.Do(func() {
		err := a.srv.Shutdown(ctx)
		if err != nil {
			a.srv.Close()
		}
		a.closeErr = errors.Join(err, a.closeRest())
	})
	return a.closeErr
}

func (a *app) closeRest() error {
	var errs []error
	if a.pprof != nil {
		errs = append(errs, a.pprof.Close())
	}
	if a.stopLoopWatch != nil {
		a.stopLoopWatch()
	}
	if a.static.fsys != nil {
		errs = append(errs, a.static.fsys.Close())
	}
	errs = append(errs, a.rt.Close())
	if a.wd != nil {
		a.wd.Close()
	}
	if a.alog != nil {
		a.alog.close()
	}
	return errors.Join(errs...)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (a *app) startPprof(addr string) error {
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	a.pprofA = ln.Addr()
	a.pprof = &nethttp.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go a.pprof.Serve(ln)
	return nil
}

// match maps a path to its route without allocating: the switch on
// string(path) compiles to comparisons on the bytes.
func (a *app) match(path []byte) route {
	switch string(path) {
	case "/":
		return routeIndex
	case "/plaintext":
		return routePlaintext
	case "/json":
		return routeJSON
	case "/stats":
		return routeStats
	case "/stats.json":
		return routeStatsJSON
	}
	if bytes.HasPrefix(path, []byte("/static/")) || string(path) == "/static" {
		return routeStatic
	}
	if a.cfg.extra != nil {
		if _, ok := a.cfg.extra[string(path)]; ok {
			return routeExtra
		}
	}
	return routeNotFound
}

// routeName names a request's route for the watchdog: the route pattern,
// not the path, so that every static file counts as one route.
func (a *app) routeName(r *http.Request) string {
	rt := a.match(r.Path)
	if rt == routeExtra {
		return string(r.Method) + " " + string(r.Path)
	}
	return string(r.Method) + " " + routeNames[rt]
}

// perRoute is the handler of the default mode, auto: the server asks it
// per request (InlineFor) where to run. Static files go to the blocking
// pool, where the handler waits on fs futures and on the client; every
// other route is a few appends and runs inline, watched, without a copy of
// the request or an allocation.
type perRoute struct {
	a      *app
	inline http.Handler // a.serve, under the watchdog when there is one
}

func (p *perRoute) InlineFor(r *http.Request) bool { return p.a.match(r.Path) != routeStatic }

func (p *perRoute) ServeHTTP(w *http.ResponseWriter, r *http.Request) {
	if p.a.match(r.Path) == routeStatic {
		// Off the loop: the watchdog's slots are for the loops' requests.
		p.a.serve(w, r)
		return
	}
	p.inline.ServeHTTP(w, r)
}

var (
	helloWorld = "Hello, World!"
	helloJSON  = `{"message":"Hello, World!"}`
)

func (a *app) serve(w *http.ResponseWriter, r *http.Request) {
	var began time.Time
	if a.alog != nil {
		began = time.Now()
	}
	rt := a.match(r.Path)
	switch rt {
	case routePlaintext:
		w.SetContentType("text/plain")
		w.WriteString(helloWorld)
	case routeJSON:
		w.SetContentType("application/json")
		w.WriteString(helloJSON)
	case routeIndex:
		w.SetContentType("text/html; charset=utf-8")
		w.Write(*a.index.Load())
	case routeStats:
		w.SetContentType("text/html; charset=utf-8")
		w.SetHeader("Cache-Control", "no-cache")
		w.Write(statsPage)
	case routeStatsJSON:
		a.serveStatsJSON(w)
	case routeStatic:
		a.static.serve(w, r)
	case routeExtra:
		a.cfg.extra[string(r.Path)].ServeHTTP(w, r)
	default:
		w.WriteHeader(404)
		w.SetContentType("text/plain; charset=utf-8")
		w.WriteString("404 page not found\n")
	}
	a.reqs[rt].Add(1)
	st := w.Status()
	if c := st / 100; c >= 1 && c <= 5 {
		a.status[c].Add(1)
	} else {
		a.status[0].Add(1)
	}
	if a.alog != nil {
		a.alog.add(r, st, time.Since(began))
	}
}

var (
	indexTmpl = template.Must(template.ParseFS(webFS, "web/index.html"))
	statsPage = must(webFS.ReadFile("web/stats.html"))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (a *app) renderIndex(addr string) *[]byte {
	var b bytes.Buffer
	st := a.static.root
	if st == "" {
		st = "(none)"
	}
	stall := "0s"
	if a.stopLoopWatch != nil {
		stall = a.cfg.Stall.String()
	}
	err := indexTmpl.Execute(&b, map[string]any{
		"Addr":      addr,
		"Loops":     len(a.rt.Reactor().Loops()),
		"Workers":   a.rt.Scheduler().Stats().Workers,
		"Balancer":  a.cfg.Balancer,
		"ReusePort": a.cfg.ReusePort,
		"Mode":      a.cfg.Mode,
		"Root":      st,
		"Go":        runtime.Version(),
		"Stall":     stall,
	})
	out := b.Bytes()
	if err != nil {
		out = []byte("index template: " + template.HTMLEscapeString(err.Error()))
	}
	return &out
}

// loopStall gets the reactor watchdog's reports. Those from a watched
// handler are the http watchdog's to log (with the route); the rest (a
// timer, a Submit closure, the server's own callbacks) are logged once per
// place in the code, so that a callback that always blocks cannot flood
// the log, and all are counted.
func (a *app) loopStall(s reactor.Stall) {
	if bytes.Contains(s.Stack, []byte("http.(*watched).ServeHTTP")) {
		return
	}
	a.loopStalls.Add(1)
	where := blockingFrame(s.Stack)
	a.loopMu.Lock()
	seen := a.loopSeen[where]
	if !seen && len(a.loopSeen) < 1024 {
		a.loopSeen[where] = true
	}
	a.loopMu.Unlock()
	if seen {
		return
	}
	a.log.Warn("reactor: a callback held its event loop",
		"loop", s.Loop, "held", s.Held.Round(time.Millisecond).String(),
		"threshold", a.cfg.Stall.String(), "at", where, "stack", string(s.Stack))
}

// blockingFrame names the innermost function of a goroutine stack dump
// that is not the Go runtime's or the standard library's sleeping and
// syscall machinery: the code to look at.
func blockingFrame(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i := 1; i < len(lines); i += 2 {
		fn := lines[i]
		if p := strings.LastIndexByte(fn, '('); p > 0 {
			fn = fn[:p]
		}
		switch {
		case strings.HasPrefix(fn, "runtime."), strings.HasPrefix(fn, "time."),
			strings.HasPrefix(fn, "syscall."), strings.HasPrefix(fn, "internal/"),
			strings.HasPrefix(fn, "sync."):
			continue
		}
		return fn
	}
	return "(unknown)"
}
