package reactor

import (
	"fmt"
	"runtime"
)

// Defaults chosen so that one slow peer cannot hold more than a few hundred KiB of
// outbound memory, while bulk writers still get large writev batches.
const (
	DefaultHighWatermark  = 256 << 10
	DefaultLowWatermark   = 64 << 10
	DefaultReadBufferSize = 16 << 10
)

type config struct {
	loops        int
	balancer     Balancer
	reusePort    bool
	high, low    int
	readBuf      int
	err          error
	maxEvents    int
	chunkSize    int
	maxPooled    int
	readsPerTurn int
}

// Option configures a Group.
type Option func(*config)

// Loops sets the number of event loops; the default is runtime.GOMAXPROCS(0).
func Loops(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.fail("Loops(%d)", n)
			return
		}
		c.loops = n
	}
}

// WithBalancer chooses how the acceptor shards connections: RoundRobin() (default),
// LeastConnections() or SourceHash().
func WithBalancer(b Balancer) Option {
	return func(c *config) {
		if b == nil {
			c.fail("WithBalancer(nil)")
			return
		}
		c.balancer = b
	}
}

// ReusePort opens one SO_REUSEPORT listener per loop, so the kernel spreads connections
// and no acceptor goroutine is needed. The balancer is then not used.
func ReusePort(on bool) Option { return func(c *config) { c.reusePort = on } }

// Watermarks sets the outbound buffer sizes at which reading pauses (high) and resumes
// (low). 0 < low <= high.
func Watermarks(high, low int) Option {
	return func(c *config) {
		if high <= 0 || low <= 0 || low > high {
			c.fail("Watermarks(%d, %d)", high, low)
			return
		}
		c.high, c.low = high, low
	}
}

// ReadBufferSize sets the size of the pooled inbound buffers (the buffer grows beyond it
// when a handler leaves a full buffer unconsumed).
func ReadBufferSize(n int) Option {
	return func(c *config) {
		if n < 512 || n > 64<<20 {
			c.fail("ReadBufferSize(%d)", n)
			return
		}
		c.readBuf = n
	}
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrBadOption}, args...)...)
	}
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		high:         DefaultHighWatermark,
		low:          DefaultLowWatermark,
		readBuf:      DefaultReadBufferSize,
		maxEvents:    256,
		chunkSize:    16 << 10,
		maxPooled:    256,
		readsPerTurn: 16,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		o(c)
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.loops == 0 {
		c.loops = runtime.GOMAXPROCS(0)
	}
	if c.balancer == nil {
		c.balancer = RoundRobin()
	}
	return c, nil
}
