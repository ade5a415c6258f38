// Package weft is a multi-reactor network runtime: epoll event loops, one per
// locked OS thread, a work-stealing task scheduler, async TCP streams and a
// strict HTTP/1.1 server built on them.
//
// A program starts from a Runtime:
//
//	rt, err := weft.New()
//	defer rt.Close()
//
// and hands it to the packages that need one (task, net, http, fs, pool).
package weft
