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
