package main

import (
	"net/http"
	"strconv"
)

func init() { register("nethttp", serveNetHTTP) }

func serveNetHTTP(addr string) error {
	body := []byte(helloBody)
	length := strconv.Itoa(len(body))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", func(w http.ResponseWriter, _ *http.Request) {
		// Direct map writes skip CanonicalHeaderKey: the keys are canonical already,
		// and this is what a tuned net/http plaintext entry does.
		h := w.Header()
		h["Content-Type"] = []string{contentType}
		h["Content-Length"] = []string{length}
		h["Server"] = []string{serverName}
		w.Write(body)
	})
	// net/http adds Date itself.
	return (&http.Server{Addr: addr, Handler: mux}).ListenAndServe()
}
