//go:build (amd64 || arm64) && !purego

package task

import (
	"context"
	"testing"
)

// Zero allocations hold with the assembly worker lookup; the portable one
// (-tags purego) allocates a stack buffer per lookup.
func TestForkRecyclesRecords(t *testing.T) {
	s := newSched(t, 1)
	var allocs float64
	mustJoin(t, Spawn(s, func(context.Context) (int, error) {
		fibFork(fibArg{s, 15}) // warm the worker's cache
		allocs = testing.AllocsPerRun(20, func() { fibFork(fibArg{s, 15}) })
		return 0, nil
	}).Future())
	if allocs != 0 {
		t.Fatalf("%v allocations per fib(15) at one worker", allocs)
	}
}
