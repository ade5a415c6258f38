package reactor

import (
	"os"

	"golang.org/x/sys/unix"
)

// childEnv selects a child mode when the test binary re-executes itself.
const childEnv = "WEFT_REACTOR_CHILD"

// runChild runs the requested child mode and reports whether one ran.
func runChild() bool {
	mode := os.Getenv(childEnv)
	if mode == "" {
		return false
	}
	f, ok := childModes[mode]
	if !ok {
		os.Exit(3)
	}
	os.Exit(f())
	return true
}

var childModes = map[string]func() int{}

type syscallRlimit struct{}

// raise lifts the soft descriptor limit to the hard one.
func (syscallRlimit) raise() error {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return err
	}
	r.Cur = r.Max
	return unix.Setrlimit(unix.RLIMIT_NOFILE, &r)
}
