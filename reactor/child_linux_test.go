package reactor

import "os"

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
