//go:build !linux

package reactor

import "time"

// Stall is one loop turn that ran longer than a watchdog's threshold (Linux only).
type Stall struct {
	Loop  int
	Held  time.Duration
	Stack []byte
}

// Watchdog does nothing on this system: there are no loops to watch.
func (g *Group) Watchdog(threshold time.Duration, report func(Stall)) (stop func()) {
	return func() {}
}
