package fs

// InFlight reports operations the backend still owns (io_uring: submitted and not yet
// reaped; the pool hands buffers back before completing, so it reports open refs).
func (fsys *FS) InFlight() int {
	if d, ok := fsys.drv.(interface{ inFlight() int }); ok {
		return d.inFlight()
	}
	return 0
}

// WatchedByLoop reports whether a reactor loop reaps the ring.
func (fsys *FS) WatchedByLoop() bool {
	d, ok := fsys.drv.(interface{ watchedByLoop() bool })
	return ok && d.watchedByLoop()
}

// Counters reports io_uring_enter calls, flusher wake-ups and eventfd callbacks run by a
// loop since New (zero on the pool).
func (fsys *FS) Counters() (enters, kicks, events uint64) {
	if d, ok := fsys.drv.(interface {
		counters() (uint64, uint64, uint64)
	}); ok {
		return d.counters()
	}
	return 0, 0, 0
}

// Registered reports whether f's fd sits in the rings' registered-file tables.
func (f *File) Registered() bool { return f.fixedDone.Load() }
