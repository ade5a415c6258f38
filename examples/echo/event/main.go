// Command event is the echo server written on weft's event face: OnData runs
// on the connection's loop, sees the inbound bytes without a copy and queues
// them straight back with Send.
//
//	go run ./examples/echo/event                   # serve on 127.0.0.1:8080
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
	fmt.Printf("event echo server on %s; Ctrl-C to stop\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}

type echo struct{}

func (echo) OnOpen(*weftnet.Stream)         {}
func (echo) OnClose(*weftnet.Stream, error) {}
func (echo) OnData(s *weftnet.Stream, in []byte) int {
	if err := s.Send(in); err != nil {
		s.Close()
	}
	return len(in)
}

func serve(rt *weft.Runtime, addr string) (*weftnet.Listener, error) {
	return weftnet.Listen(rt, "tcp", addr, weftnet.WithHandler(echo{}))
}
