// Command futures is the echo server written on weft's futures face: each
// connection is a chain of Read and WriteAll futures whose continuations run
// on the scheduler; no goroutine waits per connection.
//
//	go run ./examples/echo/futures                 # serve on 127.0.0.1:8080
//	go run ./examples/echo -client                 # check it
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/weftrt/weft"
	weftnet "github.com/weftrt/weft/net"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on")
	loops := flag.Int("loops", 0, "event loops (0 = GOMAXPROCS)")
	flag.Parse()
	rt, err := weft.New(weft.Loops(*loops))
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	ln, err := serve(rt, *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("futures echo server on %s; Ctrl-C to stop\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}

func serve(rt *weft.Runtime, addr string) (*weftnet.Listener, error) {
	ln, err := weftnet.Listen(rt, "tcp", addr)
	if err != nil {
		return nil, err
	}
	accept(ln)
	return ln, nil
}

// accept takes one connection and asks for the next; it stops when the
// listener is closed.
func accept(ln *weftnet.Listener) {
	ln.Accept().Then(func(s *weftnet.Stream, err error) {
		if err != nil {
			return
		}
		accept(ln)
		echo(s, make([]byte, 16<<10))
	})
}

// echo reads, writes the bytes back, and reads again.
func echo(s *weftnet.Stream, buf []byte) {
	s.Read(buf).Then(func(n int, err error) {
		if err != nil {
			s.Close()
			return
		}
		s.WriteAll(buf[:n]).Then(func(_ int, err error) {
			if err != nil {
				s.Close()
				return
			}
			echo(s, buf)
		})
	})
}
