// Command client dials a TCP echo server with weft's futures face: Dial with a
// context deadline, WriteAll, then Read under a read deadline.
//
//	go run ./examples/client                        # starts its own echo server
//	go run ./examples/client -addr 127.0.0.1:7000 -msg hello
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/weftrt/weft"
	weftnet "github.com/weftrt/weft/net"
)

func main() {
	addr := flag.String("addr", "", "echo server address (empty: start one in-process on 127.0.0.1)")
	msg := flag.String("msg", "hello, weft", "message to send")
	timeout := flag.Duration("timeout", 2*time.Second, "dial timeout and read deadline")
	flag.Parse()
	if err := weft.Run(func(rt *weft.Runtime) error { return run(rt, *addr, *msg, *timeout) }); err != nil {
		log.Fatal(err)
	}
}

func run(rt *weft.Runtime, addr, msg string, timeout time.Duration) error {
	if addr == "" {
		ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0", weftnet.WithHandler(weftnet.HandlerFuncs{
			Data: func(s *weftnet.Stream, in []byte) int {
				s.Send(in)
				return len(in)
			},
		}))
		if err != nil {
			return err
		}
		defer ln.Close()
		addr = ln.Addr().String()
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := weftnet.Dial(ctx, rt, "tcp", addr).Join()
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer s.Close()

	if _, err := s.WriteAll([]byte(msg)).Join(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	s.SetReadDeadline(time.Now().Add(timeout))
	got := make([]byte, 0, len(msg))
	buf := make([]byte, 4096)
	for len(got) < len(msg) {
		n, err := s.Read(buf).Join()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("no echo within %v", timeout)
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		got = append(got, buf[:n]...)
	}
	fmt.Printf("%s -> %q\n", s.RemoteAddr(), got)
	return nil
}
