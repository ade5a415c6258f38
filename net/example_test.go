package net_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrt/weft"
	weftnet "github.com/weftrt/weft/net"
)

// An echo server on the event face and a client on the futures face.
func Example() {
	rt, err := weft.New(weft.Loops(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close()

	ln, err := weftnet.Listen(rt, "tcp", "127.0.0.1:0", weftnet.WithHandler(weftnet.HandlerFuncs{
		Data: func(s *weftnet.Stream, in []byte) int {
			s.Send(in) // on the loop: straight into the outbound buffer
			return len(in)
		},
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := weftnet.Dial(ctx, rt, "tcp", ln.Addr().String()).Join()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	s.WriteAll([]byte("hello"))
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	n, err := s.Read(buf).Join()
	fmt.Println(string(buf[:n]), err)
	// Output: hello <nil>
}
