package http_test

import (
	"context"
	"fmt"

	"github.com/weftrt/weft/http"
	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/scheduler"
)

func ExampleServer() {
	g, err := reactor.NewGroup()
	if err != nil {
		fmt.Println(err) // not Linux
		return
	}
	defer g.Close()
	sched := scheduler.New()
	defer sched.Close()

	s := &http.Server{Handler: http.NonBlocking(http.HandlerFunc(func(w *http.ResponseWriter, r *http.Request) {
		w.SetContentType("text/plain")
		w.WriteString("Hello, World!")
	}))}
	addr, err := s.Listen(http.On(g, sched), "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = addr // serve until shut down
	s.Shutdown(context.Background())
}
