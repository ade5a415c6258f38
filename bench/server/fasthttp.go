package main

import (
	"github.com/valyala/fasthttp"
)

func init() { register("fasthttp", serveFastHTTP) }

func serveFastHTTP(addr string) error {
	body := []byte(helloBody)
	s := &fasthttp.Server{
		Name: serverName, // fasthttp sends Server and Date itself.
		Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) != "/plaintext" {
				ctx.NotFound()
				return
			}
			ctx.SetContentType(contentType)
			ctx.SetBody(body)
		},
		NoDefaultContentType: true,
	}
	return s.ListenAndServe(addr)
}
