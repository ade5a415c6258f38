package net_test

import (
	"fmt"
	"io"
	stdnet "net"
	"sync"
	"testing"

	weftnet "github.com/weftrt/weft/net"
	"github.com/weftrt/weft/reactor"
)

type rawEcho struct{}

func (rawEcho) OnOpen(*reactor.Conn)         {}
func (rawEcho) OnClose(*reactor.Conn, error) {}
func (rawEcho) OnData(c *reactor.Conn, in []byte) int {
	c.Write(in)
	return len(in)
}

// BenchmarkEcho runs the same echo work against three servers in one run:
// the futures face (Read/WriteAll continuations on the scheduler), the event
// face (OnData + Send on the loop) and the standard library (a goroutine per
// connection with io.Copy). The clients are identical standard net.Conns, one
// per parallel goroutine (GOMAXPROCS of them, then 32x as many); an op is
// one 1 KiB round trip. B/op and allocs/op
// count the whole process, so they include the client's share, which is the
// same for all three.
func BenchmarkEcho(b *testing.B) {
	const msgSize = 1 << 10
	servers := []struct {
		name  string
		start func(b *testing.B) (addr string, stop func())
	}{
		{"futures", func(b *testing.B) (string, func()) {
			rt := newRuntime(b)
			ln := listen(b, rt)
			futuresEcho(ln)
			return ln.Addr().String(), func() { ln.Close() }
		}},
		{"event", func(b *testing.B) (string, func()) {
			rt := newRuntime(b)
			ln := listen(b, rt, weftnet.WithHandler(weftnet.HandlerFuncs{
				Data: func(s *weftnet.Stream, in []byte) int {
					s.Send(in)
					return len(in)
				},
			}))
			return ln.Addr().String(), func() { ln.Close() }
		}},
		{"reactor", func(b *testing.B) (string, func()) {
			// The raw reactor, as a floor for what the event face adds.
			g, err := reactor.NewGroup(reactor.Loops(2))
			if err != nil {
				b.Fatal(err)
			}
			ln, err := g.Listen("tcp", "127.0.0.1:0", rawEcho{})
			if err != nil {
				g.Close()
				b.Fatal(err)
			}
			return ln.Addr().String(), func() { g.Close() }
		}},
		{"stdnet", func(b *testing.B) (string, func()) {
			ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var conns []stdnet.Conn
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
					wg.Add(1)
					go func() {
						defer wg.Done()
						io.Copy(c, c)
						c.Close()
					}()
				}
			}()
			return ln.Addr().String(), func() {
				ln.Close()
				mu.Lock()
				for _, c := range conns {
					c.Close()
				}
				mu.Unlock()
				wg.Wait()
			}
		}},
	}
	for _, par := range []int{1, 32} {
		for _, srv := range servers {
			b.Run(fmt.Sprintf("conns=%dxP/%s", par, srv.name), func(b *testing.B) {
				echoRun(b, srv.start, par, msgSize)
			})
		}
	}
}

// echoRun drives one server with par*GOMAXPROCS client connections.
func echoRun(b *testing.B, start func(*testing.B) (string, func()), par, msgSize int) {
	addr, stop := start(b)
	defer stop()
	b.ReportAllocs()
	b.SetBytes(int64(2 * msgSize))
	b.SetParallelism(par)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := stdnet.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		out := make([]byte, msgSize)
		in := make([]byte, msgSize)
		for pb.Next() {
			if _, err := c.Write(out); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(c, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
