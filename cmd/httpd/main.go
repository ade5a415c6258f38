// Command httpd is weft's demo server: the first thing to run after cloning.
//
//	go run ./cmd/httpd
//
// serves on http://127.0.0.1:8080 with nothing to configure:
//
//	/             what is running, with links
//	/plaintext    Hello, World! (the TechEmpower plaintext shape)
//	/json         {"message":"Hello, World!"}
//	/static/...   files under -root (default cmd/httpd/static)
//	/stats        live loop, scheduler and request figures
//	/stats.json   the same figures, cumulative, for machines
//
// # Where handlers run
//
// By default (-mode auto) the server asks per request (http's InlineFor
// under ModeAuto): /, /plaintext, /json and /stats* are a few appends and
// run inline on the loops, allocation-free; /static/ runs on the blocking
// pool, where it opens, stats and reads files through package fs (io_uring,
// or the blocking pool where io_uring is unavailable) in 64 KiB chunks and
// flushes each one. A Flush waits while the connection's queue is above its
// high watermark, so a slow client holds back the reads and one pool
// worker, never a loop, and a large file is never in memory whole.
// -mode inline runs every route on the loops (static files read with
// package os on the loop: the watchdog will report large ones); -mode
// scheduler and -mode blocking run every route off them.
//
// Why fs and not sendfile(2): sendfile needs the socket, and http gives a
// handler a ResponseWriter, whose bytes go through the loop's outbound
// queue; sending a file around that queue means a new http and reactor
// contract (drain the queue, then sendfile on EAGAIN-driven writability
// from the loop). fs needs nothing new. The price, measured on 2 cores
// (server `taskset -c 0 httpd -loops 1 -workers 1`, client `taskset -c 1
// wrk -t1 -c16 -d5s`, median of 3, a random 4 KiB and 1 MiB file):
//
//	                                   4 KiB req/s   1 MiB req/s
//	auto: fs (io_uring), pool worker       18,700        1,130
//	auto, os.File on the pool instead      23,900        1,410   (2 runs)
//	inline: os.File on the loop            46,000        1,490   (blocks the loop)
//	net/http FileServer (sendfile)         30,900        1,500   (noisy: 1,100-2,300)
//
// Most of the gap to inline is the hand-off to the pool and back (the
// request is copied out, each 64 KiB chunk is one Loop.Submit); fs adds
// a wait per open, stat and read (the close, then still waited for, no
// longer is). sendfile's edge is in large files, where it skips two
// copies: worth that new contract later. Load from other processes moves
// these figures by 30% or more; a rerun at load 4-5 put the fs, pool and
// sendfile rows within noise of each other.
//
// SIGINT or SIGTERM stops it gracefully: it stops accepting, finishes the
// requests in flight and exits 0. A second signal cuts connections at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "httpd:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, out io.Writer) (config, time.Duration, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("httpd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to serve on")
	fs.IntVar(&cfg.Loops, "loops", 0, "event loops (0 = GOMAXPROCS)")
	fs.IntVar(&cfg.Workers, "workers", 0, "scheduler workers (0 = GOMAXPROCS)")
	fs.StringVar(&cfg.Balancer, "balancer", cfg.Balancer, "how connections are spread over loops: round-robin, least-conns or source-hash")
	fs.BoolVar(&cfg.ReusePort, "reuseport", false, "one SO_REUSEPORT listener per loop instead of one acceptor")
	fs.StringVar(&cfg.Root, "root", "", "folder served at /static/ (default: "+defaultRoot+")")
	fs.StringVar(&cfg.Mode, "mode", cfg.Mode, "where handlers run: auto (static files on the blocking pool through fs, the rest on the loops), inline (all on the loops), scheduler (as tasks) or blocking (on the blocking pool)")
	fs.BoolVar(&cfg.AccessLog, "log", false, "write an access log (log/slog, to stderr)")
	fs.StringVar(&cfg.Pprof, "pprof", "", "serve net/http/pprof on this loopback address, e.g. 127.0.0.1:6060")
	fs.DurationVar(&cfg.Stall, "stall", cfg.Stall, "loop watchdog: warn when a handler holds a loop longer (0 = off)")
	grace := fs.Duration("grace", 10*time.Second, "how long shutdown waits for requests in flight")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return cfg, *grace, err
}

func run(args []string, stderr io.Writer) error {
	cfg, grace, err := parseFlags(args, stderr)
	if err == flag.ErrHelp {
		return nil
	}
	if err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	a, err := newServer(cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	attrs := []any{"addr", "http://" + a.addr.String(), "loops", len(a.rt.Reactor().Loops()),
		"workers", a.rt.Scheduler().Stats().Workers, "mode", cfg.Mode, "static", a.static.root}
	if a.static.fsys != nil {
		attrs = append(attrs, "files", a.static.fsys.Backend().String())
	}
	if a.pprofA != nil {
		attrs = append(attrs, "pprof", "http://"+a.pprofA.String()+"/debug/pprof/")
	}
	cfg.Logger.Info("httpd: serving; Ctrl-C to stop", attrs...)

	s := <-sig
	cfg.Logger.Info("httpd: shutting down, finishing requests in flight", "signal", s.String(), "grace", grace.String())
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		select {
		case <-sig:
			cancel() // a second signal: stop waiting
		case <-ctx.Done():
		}
	}()
	if err := a.shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	cfg.Logger.Info("httpd: stopped")
	return nil
}
