// Command pool shows many tasks sharing a few pooled connections: 1000 tasks each make 10
// request/response exchanges with an echo server over a pool of 8 weft TCP streams, and
// the server counts how many connections it ever saw open at once.
//
//	go run ./examples/pool                              # starts its own echo server
//	go run ./examples/echo/futures &                    # or use weft's echo server
//	go run ./examples/pool -addr 127.0.0.1:8080
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/weftrt/weft"
	weftnet "github.com/weftrt/weft/net"
	"github.com/weftrt/weft/pool"
	"github.com/weftrt/weft/task"
)

type config struct {
	addr              string
	tasks, gets, size int
	timeout           time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "", "echo server address (empty: start one in-process on 127.0.0.1)")
	flag.IntVar(&c.tasks, "tasks", 1000, "tasks sharing the pool")
	flag.IntVar(&c.gets, "gets", 10, "exchanges per task, each on a connection checked out anew")
	flag.IntVar(&c.size, "size", 8, "pool size")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Second, "bound on the whole run")
	flag.Parse()
	err := weft.Run(func(rt *weft.Runtime) error {
		r, err := run(rt, c)
		if err == nil {
			fmt.Println(r)
		}
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
}

type report struct {
	config
	elapsed   time.Duration
	serverMax int64 // -1 when the server is not ours to count
	stats     pool.Stats
	exchanges int64
}

func (r report) String() string {
	max := "not counted (external server)"
	if r.serverMax >= 0 {
		max = fmt.Sprint(r.serverMax)
	}
	return fmt.Sprintf("%d tasks x %d exchanges = %d echoed byte-exact in %v over a pool of %d\n"+
		"connections open at once, as the server saw them: %s\n"+
		"pool: %d opens, %d of %d checkouts waited (%v on average), %d broken replaced",
		r.tasks, r.gets, r.exchanges, r.elapsed.Round(time.Millisecond), r.size, max,
		r.stats.Connects, r.stats.Waited, r.stats.Gets, meanWait(r.stats).Round(time.Microsecond), r.stats.ClosedBroken)
}

func meanWait(s pool.Stats) time.Duration {
	if s.Waited == 0 {
		return 0
	}
	return s.WaitTime / time.Duration(s.Waited)
}

func run(rt *weft.Runtime, c config) (report, error) {
	r := report{config: c, serverMax: -1}
	var open, maxOpen atomic.Int64
	own := c.addr == ""
	if own {
		// An event-face echo server that counts its connections: the pool's bound,
		// checked from the other end of the wire.
		ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0", weftnet.WithHandler(weftnet.HandlerFuncs{
			Open: func(*weftnet.Stream) {
				n := open.Add(1)
				for old := maxOpen.Load(); n > old && !maxOpen.CompareAndSwap(old, n); old = maxOpen.Load() {
				}
			},
			Data: func(s *weftnet.Stream, in []byte) int {
				s.Send(in)
				return len(in)
			},
			Close: func(*weftnet.Stream, error) { open.Add(-1) },
		}))
		if err != nil {
			return r, err
		}
		defer ln.Close()
		c.addr = ln.Addr().String()
	}

	p, err := pool.New(pool.TCP(rt, c.addr), pool.MaxSize(c.size), pool.ConnectionTimeout(c.timeout))
	if err != nil {
		return r, err
	}
	defer p.Close()

	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	start := time.Now()
	var exchanges atomic.Int64
	hs := make([]*task.JoinHandle[struct{}], c.tasks)
	for i := range hs {
		hs[i] = task.Spawn(rt, func(context.Context) (struct{}, error) {
			buf := make([]byte, 128)
			for j := range c.gets {
				conn, err := p.Get(ctx).Join()
				if err != nil {
					return struct{}{}, fmt.Errorf("task %d: get: %w", i, err)
				}
				if err := exchange(conn.Value(), fmt.Appendf(nil, "task %d exchange %d", i, j), buf); err != nil {
					conn.Discard() // a half-done exchange leaves the stream out of step
					return struct{}{}, fmt.Errorf("task %d: %w", i, err)
				}
				conn.Release()
				exchanges.Add(1)
			}
			return struct{}{}, nil
		})
	}
	for _, h := range hs {
		if _, err := h.Join(); err != nil {
			return r, err
		}
	}
	r.elapsed = time.Since(start)
	r.exchanges = exchanges.Load()
	r.stats = p.Stats()
	if own {
		r.serverMax = maxOpen.Load()
	}
	if r.serverMax > int64(c.size) {
		return r, fmt.Errorf("the server saw %d connections open at once, over the pool size %d", r.serverMax, c.size)
	}
	return r, nil
}

// exchange writes msg and reads the same bytes back.
func exchange(s *weftnet.Stream, msg, buf []byte) error {
	if _, err := s.WriteAll(msg).Join(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got := buf[:0]
	for len(got) < len(msg) {
		n, err := s.Read(buf[len(got):cap(buf)]).Join()
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		got = buf[:len(got)+n]
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo %q, want %q", got, msg)
	}
	return nil
}
