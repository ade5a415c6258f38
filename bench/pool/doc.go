// Package pool compares weft's connection pool (github.com/weftrt/weft/pool) with
// github.com/jackc/puddle/v2 and a buffered channel, in one benchmark run: a Get+Release
// cycle under 1, 8 and 64 tasks on a 2-worker weft scheduler, on a warm pool of 8 (every
// Get finds a resource idle: the fast path) and on a pool of 1 (Gets queue: the waiting
// path). It lives in the bench module so that puddle never enters weft's go.mod.
//
//	cd bench && taskset -c 0,1 go test -run XXX -bench . -benchtime 200000x -count 3 ./pool/
package pool
