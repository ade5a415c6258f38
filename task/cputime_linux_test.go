package task

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU is the CPU time the process has used, to the nanosecond
// (getrusage is only as fine as the scheduler tick).
func processCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
