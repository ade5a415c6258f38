package reactor

import (
	"net"
	"sync/atomic"
)

// Balancer picks the loop that will own a newly accepted connection. Pick runs on the
// acceptor goroutine, never concurrently with itself for one listener.
type Balancer interface {
	Pick(loops []*Loop, remote net.Addr) *Loop
}

// RoundRobin, LeastConnections and SourceHash return a fresh balancer each call, so that
// every listener keeps its own rotation.
var (
	RoundRobin       = func() Balancer { return &roundRobin{} }
	LeastConnections = func() Balancer { return leastConns{} }
	SourceHash       = func() Balancer { return sourceHash{} }
)

type roundRobin struct{ n atomic.Uint64 }

func (r *roundRobin) Pick(loops []*Loop, _ net.Addr) *Loop {
	return loops[(r.n.Add(1)-1)%uint64(len(loops))]
}

// leastConns reads each loop's live count; the acceptor counts a connection on its loop
// before handing it over, so a burst of accepts does not all land on one loop.
type leastConns struct{}

func (leastConns) Pick(loops []*Loop, _ net.Addr) *Loop {
	best := loops[0]
	bestN := best.load()
	for _, l := range loops[1:] {
		if n := l.load(); n < bestN {
			best, bestN = l, n
		}
	}
	return best
}

// sourceHash keeps every connection from one client address on one loop (port ignored),
// which keeps per-client state loop-local.
type sourceHash struct{}

func (sourceHash) Pick(loops []*Loop, remote net.Addr) *Loop {
	var ip net.IP
	switch a := remote.(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	if ip == nil {
		return loops[0]
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	// FNV-1a, inline so that a pick does not allocate a hash.Hash.
	h := uint32(2166136261)
	for _, b := range ip {
		h ^= uint32(b)
		h *= 16777619
	}
	return loops[h%uint32(len(loops))]
}
