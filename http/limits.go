package http

// Limits bound what one request may use. A zero field takes its default.
type Limits struct {
	// MaxRequestLineBytes bounds the request line (method, target, version);
	// longer lines are answered 414.
	MaxRequestLineBytes int
	// MaxHeaderBytes bounds the header section after the request line, and
	// separately the trailer section of a chunked body; larger is 431.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields (and of trailer fields); more is 431.
	MaxHeaders int
	// MaxBodyBytes bounds the decoded body; larger is 413. Bodies are
	// buffered whole, so this is also the memory a request may pin.
	MaxBodyBytes int64
}

// The defaults are those of common front-end servers: generous for real
// clients, small enough that a slow or hostile one pins little memory.
const (
	DefaultMaxRequestLineBytes = 8 << 10
	DefaultMaxHeaderBytes      = 16 << 10
	DefaultMaxHeaders          = 100
	DefaultMaxBodyBytes        = 4 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxRequestLineBytes <= 0 {
		l.MaxRequestLineBytes = DefaultMaxRequestLineBytes
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return l
}
