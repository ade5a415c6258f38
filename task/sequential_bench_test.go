package task

import (
	"context"
	"testing"

	"github.com/weftrt/weft/scheduler"
)

// Spawn then Join, one at a time, inside a task at one worker: the bare
// per-task cost of the fork-join path (the join runs the task inline).
func BenchmarkSpawnJoinSequential(b *testing.B) {
	s := scheduler.New(scheduler.Workers(1))
	defer s.Close()
	b.ReportAllocs()
	Spawn(s, func(context.Context) (int, error) {
		for i := 0; i < b.N; i++ {
			Spawn(s, empty).Join()
		}
		return 0, nil
	}).Join()
}
