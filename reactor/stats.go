package reactor

// LoopStats is a snapshot of one loop's counters. Counters are cumulative except Conns.
type LoopStats struct {
	ID       int   // loop index within its group
	Conns    int64 // connections owned now (including ones being handed to the loop)
	Accepted int64 // connections accepted for this loop
	Closed   int64 // connections closed
	Events   int64 // epoll events handled
	Turns    int64 // loop iterations
	Wakeups  int64 // eventfd wakeups consumed
	Reads    int64 // read syscalls that returned data
	Writes   int64 // writev syscalls that wrote data
	BytesIn  int64
	BytesOut int64
	Tasks    int64 // inbox closures run
	Timers   int64 // timers fired
	Paused   int64 // times reading was paused by the high watermark
}
