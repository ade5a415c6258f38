package http

import (
	"bytes"
	"io"
	nethttp "net/http"
	"net/url"
	"strconv"
)

// FromStd serves a standard library handler. It always runs on the blocking
// pool (standard handlers may block), gets a *net/http.Request whose context
// is cancelled when the client disconnects, and a ResponseWriter that
// implements http.Flusher. The request body is already complete when the
// handler starts (bodies are buffered up to Limits.MaxBodyBytes).
func FromStd(h nethttp.Handler) Handler { return stdHandler{h} }

type stdHandler struct{ h nethttp.Handler }

func (stdHandler) Blocking() bool { return true }

func (s stdHandler) ServeHTTP(w *ResponseWriter, r *Request) {
	req, err := toStdRequest(w, r)
	if err != nil {
		w.WriteHeader(nethttp.StatusBadRequest)
		return
	}
	sw := &stdWriter{w: w, hdr: make(nethttp.Header)}
	s.h.ServeHTTP(sw, req)
	if !sw.wrote {
		sw.WriteHeader(nethttp.StatusOK)
	}
}

func toStdRequest(w *ResponseWriter, r *Request) (*nethttp.Request, error) {
	target := string(r.Target)
	var u *url.URL
	if string(r.Method) == "CONNECT" {
		u = &url.URL{Host: target}
	} else {
		var err error
		if u, err = url.ParseRequestURI(target); err != nil {
			return nil, err
		}
	}
	hdr := make(nethttp.Header, len(r.headers))
	for _, f := range r.headers {
		k := nethttp.CanonicalHeaderKey(string(f.Name))
		hdr[k] = append(hdr[k], string(f.Value))
	}
	// As in net/http: Host lives in Request.Host, not in the header map.
	delete(hdr, "Host")
	req := &nethttp.Request{
		Method:     string(r.Method),
		URL:        u,
		Proto:      "HTTP/1." + strconv.Itoa(r.ProtoMinor),
		ProtoMajor: 1,
		ProtoMinor: r.ProtoMinor,
		Header:     hdr,
		Host:       string(r.Host),
		RequestURI: target,
		Close:      r.Close,
		Body:       nethttp.NoBody,
	}
	if r.RemoteAddr != nil {
		req.RemoteAddr = r.RemoteAddr.String()
	}
	if len(r.Body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(r.Body))
	}
	req.ContentLength = int64(len(r.Body))
	if r.Chunked {
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
	}
	if len(r.trailers) > 0 {
		req.Trailer = make(nethttp.Header, len(r.trailers))
		for _, f := range r.trailers {
			k := nethttp.CanonicalHeaderKey(string(f.Name))
			req.Trailer[k] = append(req.Trailer[k], string(f.Value))
		}
	}
	return req.WithContext(w.Context()), nil
}

// stdWriter is a net/http.ResponseWriter and http.Flusher over a ResponseWriter.
type stdWriter struct {
	w     *ResponseWriter
	hdr   nethttp.Header
	wrote bool
}

func (s *stdWriter) Header() nethttp.Header { return s.hdr }

func (s *stdWriter) WriteHeader(code int) {
	if s.wrote || code < 200 {
		// 1xx interim responses are not forwarded; 100 Continue is the
		// server's business and is sent before the handler runs.
		return
	}
	s.wrote = true
	for k, vs := range s.hdr {
		for _, v := range vs {
			s.w.AddHeader(k, v)
		}
	}
	s.w.WriteHeader(code)
}

func (s *stdWriter) Write(p []byte) (int, error) {
	if !s.wrote {
		// As net/http does: a body without a Content-Type gets a sniffed one.
		if _, ok := s.hdr["Content-Type"]; !ok && s.hdr.Get("Transfer-Encoding") == "" && len(p) > 0 {
			s.hdr.Set("Content-Type", nethttp.DetectContentType(p))
		}
		s.WriteHeader(nethttp.StatusOK)
	}
	return s.w.Write(p)
}

// WriteString lets io.WriteString skip a conversion.
func (s *stdWriter) WriteString(str string) (int, error) {
	if !s.wrote {
		return s.Write([]byte(str))
	}
	return s.w.WriteString(str)
}

// Flush implements http.Flusher.
func (s *stdWriter) Flush() {
	if !s.wrote {
		s.WriteHeader(nethttp.StatusOK)
	}
	_ = s.w.Flush()
}

// FlushError lets http.ResponseController report flush errors.
func (s *stdWriter) FlushError() error {
	if !s.wrote {
		s.WriteHeader(nethttp.StatusOK)
	}
	return s.w.Flush()
}
