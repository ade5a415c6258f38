package main

import (
	"github.com/weftrt/weft"
	whttp "github.com/weftrt/weft/http"
)

func init() { register("weft", serveWeft) }

// serveWeft runs weft's own server with its defaults: loops and workers follow
// GOMAXPROCS (1 in run.sh). The handler is declared non-blocking, so it runs
// inline on the loop, which is what a plaintext entry would do.
func serveWeft(addr string) error {
	rt, err := weft.New()
	if err != nil {
		return err
	}
	defer rt.Close()
	body := []byte(helloBody)
	s := &whttp.Server{
		ServerName: serverName, // weft sends Date itself.
		Handler: whttp.NonBlocking(whttp.HandlerFunc(func(w *whttp.ResponseWriter, r *whttp.Request) {
			if string(r.Path) != "/plaintext" {
				w.WriteHeader(404)
				return
			}
			w.SetContentType(contentType)
			w.Write(body)
		})),
	}
	return s.ListenAndServe(rt, addr)
}
