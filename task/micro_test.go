package task

import (
	"context"
	"testing"

	"github.com/weftrt/weft/scheduler"
)

func BenchmarkMicroSpawnJoinPair(b *testing.B) {
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
