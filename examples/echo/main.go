// Command echo is weft's first demo: an echo server on the reactor, and (with -client) the
// client that checks it, 10 connections each sending "HELLO WORLD[i]" for i = 1..1024.
//
//	go run ./examples/echo                 # serve on 127.0.0.1:8080
//	go run ./examples/echo -client         # in another terminal
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weftrt/weft/examples/internal/echocheck"
	"github.com/weftrt/weft/reactor"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on (or to dial with -client)")
	client := flag.Bool("client", false, "run the checking client against -addr instead of serving")
	conns := flag.Int("conns", 10, "client: concurrent connections")
	n := flag.Int("n", 1024, "client: messages per connection")
	loops := flag.Int("loops", 0, "server: event loops (0 = GOMAXPROCS)")
	flag.Parse()

	if *client {
		start := time.Now()
		if err := echocheck.Run(*addr, *conns, *n); err != nil {
			log.Fatalf("client: %v", err)
		}
		fmt.Printf("ok: %d connections x %d messages echoed byte-exact in %v\n", *conns, *n, time.Since(start).Round(time.Millisecond))
		return
	}

	g, ln, err := serve(*addr, *loops)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("echo server on %s (%d loops); Ctrl-C to stop\n", ln.Addr(), len(g.Loops()))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	g.Close()
}

// echo writes back every byte it receives.
type echo struct{}

func (echo) OnOpen(*reactor.Conn)         {}
func (echo) OnClose(*reactor.Conn, error) {}
func (echo) OnData(c *reactor.Conn, in []byte) int {
	c.Write(in)
	return len(in)
}

func serve(addr string, loops int) (*reactor.Group, *reactor.Listener, error) {
	g, err := reactor.NewGroup(reactor.Loops(loops))
	if err != nil {
		return nil, nil, err
	}
	ln, err := g.Listen("tcp", addr, echo{})
	if err != nil {
		g.Close()
		return nil, nil, err
	}
	return g, ln, nil
}
