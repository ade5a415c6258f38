//go:build !amd64 || purego

package http

func valueStop(b []byte) int { return valueStopGo(b) }
