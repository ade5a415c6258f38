package http

import "net"

// Header is one field line. Name and Value are subslices of the inbound
// buffer; Value has surrounding whitespace trimmed.
type Header struct {
	Name, Value []byte
}

// Request is one parsed request. It is reused from request to request: every
// slice points into the connection's inbound buffer and is valid only while
// the handler runs (until OnData returns).
type Request struct {
	Method []byte
	// Target is the request-target exactly as sent.
	Target []byte
	// Path is the path of an origin- or absolute-form target ("/" when an
	// absolute-form target has none), "*" for asterisk-form, the authority
	// for CONNECT.
	Path []byte
	// Query is what follows "?" in the target, without the "?".
	Query []byte
	// Host is the target's authority for an absolute-form target, else the
	// Host header.
	Host []byte
	// ProtoMinor is 0 for HTTP/1.0 and 1 for HTTP/1.1 (the major is always 1).
	ProtoMinor int
	// ContentLength is the declared length, 0 when there is no body, -1 for
	// a chunked body (whose decoded length is len(Body)).
	ContentLength int64
	Chunked       bool
	// Close is true when the connection must close after the response:
	// HTTP/1.1 with "Connection: close", HTTP/1.0 without "keep-alive".
	Close bool
	// Expect100 is true for "Expect: 100-continue".
	Expect100 bool
	// Body is the whole decoded body (the parser waits for all of it).
	Body []byte
	// RemoteAddr is the client's address, set by the Server.
	RemoteAddr net.Addr

	headers  []Header
	trailers []Header
	hostSeen bool
	clSeen   bool
	teSeen   bool
	connKA   bool
	connCl   bool
}

// Headers returns all header fields in order.
func (r *Request) Headers() []Header { return r.headers }

// Trailers returns the trailer fields of a chunked body.
func (r *Request) Trailers() []Header { return r.trailers }

// Header returns the value of the first field named name (ASCII case-insensitive), or nil.
func (r *Request) Header(name string) []byte {
	for i := range r.headers {
		if eqFoldBoth(r.headers[i].Name, name) {
			return r.headers[i].Value
		}
	}
	return nil
}

// IsHead reports a HEAD request, whose response carries no body.
func (r *Request) IsHead() bool { return string(r.Method) == "HEAD" }

// KeepAlive reports whether the connection may serve another request after this one.
func (r *Request) KeepAlive() bool { return !r.Close }

// reset clears r for the next request, keeping the header arrays.
func (r *Request) reset() {
	h, t := r.headers[:0], r.trailers[:0]
	*r = Request{headers: h, trailers: t}
}

func eqFoldBoth(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
