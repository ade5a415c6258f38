package http_test

import (
	"context"
	"fmt"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/http"
)

// *weft.Runtime is an http.Runtime: the server listens on its reactor and
// runs handlers that may block on its scheduler's blocking pool.
var _ http.Runtime = (*weft.Runtime)(nil)

func ExampleServer() {
	rt, err := weft.New()
	if err != nil {
		fmt.Println(err) // not Linux
		return
	}
	defer rt.Close()

	s := &http.Server{Handler: http.NonBlocking(http.HandlerFunc(func(w *http.ResponseWriter, r *http.Request) {
		w.SetContentType("text/plain")
		w.WriteString("Hello, World!")
	}))}
	if _, err := s.Listen(rt, "127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return
	}
	// ... serve until it is time to stop:
	s.Shutdown(context.Background())
}
