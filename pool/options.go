package pool

import (
	"time"

	"github.com/weftrt/weft/task"
)

// Defaults, chosen as bb8 and HikariCP choose theirs: a small pool that never waits
// forever, recycles resources before servers or middleboxes drop them, and rides out a
// brief outage of the peer.
const (
	DefaultMaxSize           = 10
	DefaultMaxLifetime       = 30 * time.Minute
	DefaultIdleTimeout       = 10 * time.Minute
	DefaultConnectionTimeout = 30 * time.Second
	DefaultReapInterval      = 30 * time.Second
	DefaultRetryAttempts     = 3
	DefaultBackoffMin        = 10 * time.Millisecond
	DefaultBackoffMax        = time.Second
)

type config struct {
	ex             task.Executor
	maxSize        int
	minIdle        int
	maxLifetime    time.Duration
	idleTimeout    time.Duration
	connTimeout    time.Duration
	reapInterval   time.Duration
	testOnCheckout bool
	attempts       int
	backoffMin     time.Duration
	backoffMax     time.Duration
	clock          func() int64 // tests only: replaces the monotonic clock
}

func defaults() config {
	return config{
		maxSize:        DefaultMaxSize,
		maxLifetime:    DefaultMaxLifetime,
		idleTimeout:    DefaultIdleTimeout,
		connTimeout:    DefaultConnectionTimeout,
		reapInterval:   DefaultReapInterval,
		testOnCheckout: true,
		attempts:       DefaultRetryAttempts,
		backoffMin:     DefaultBackoffMin,
		backoffMax:     DefaultBackoffMax,
	}
}

// Option configures a pool; New rejects out-of-range values with ErrInvalidOption.
type Option func(*config)

// Executor sets where the pool completes futures, runs blocking connects and its idle
// sweep: a *weft.Runtime or a *scheduler.Scheduler. Needed unless the manager is an
// [ExecutorProvider].
func Executor(ex task.Executor) Option { return func(c *config) { c.ex = ex } }

// MaxSize caps the resources open at once, idle, in use and being opened (default 10).
func MaxSize(n int) Option { return func(c *config) { c.maxSize = n } }

// MinIdle is how many idle resources the pool keeps open ahead of demand, refilled in
// the background (default 0).
func MinIdle(n int) Option { return func(c *config) { c.minIdle = n } }

// MaxLifetime closes a resource this long after it was opened, when it next comes back
// to the pool or is found idle (default 30m; 0: no limit).
func MaxLifetime(d time.Duration) Option { return func(c *config) { c.maxLifetime = d } }

// IdleTimeout closes a resource left idle this long, down to MinIdle (default 10m; 0:
// never).
func IdleTimeout(d time.Duration) Option { return func(c *config) { c.idleTimeout = d } }

// ConnectionTimeout bounds how long a Get waits for a resource, and each attempt to open
// one; a Get that runs out fails with ErrTimeout (default 30s; 0: only the ctx bounds it).
func ConnectionTimeout(d time.Duration) Option { return func(c *config) { c.connTimeout = d } }

// TestOnCheckout runs the manager's [Checker] on every idle resource handed out (default
// on; without a Checker it has no effect).
func TestOnCheckout(on bool) Option { return func(c *config) { c.testOnCheckout = on } }

// Retry makes up to attempts tries to open a resource, waiting between tries an
// exponentially growing, jittered delay from min up to max (default 3, 10ms, 1s). 1
// disables retrying.
func Retry(attempts int, min, max time.Duration) Option {
	return func(c *config) { c.attempts, c.backoffMin, c.backoffMax = attempts, min, max }
}

// ReapInterval is how often idle resources are swept for expiry and breakage and MinIdle
// is topped up (default 30s, or less when IdleTimeout or MaxLifetime is shorter).
func ReapInterval(d time.Duration) Option { return func(c *config) { c.reapInterval = d } }
