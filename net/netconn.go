package net

import (
	"io"
	stdnet "net"
	"time"
)

// NetConn returns a blocking net.Conn over the stream, for code written
// against the standard library (bufio, io.Copy, crypto/tls, net/http). Each
// call blocks its goroutine on the stream's futures; the stream itself still
// lives on its loop. A Read that finds bytes already buffered does not
// allocate. Errors are *net.OpError values as the standard library returns,
// wrapping ErrDeadline, ErrClosed or the socket error; io.EOF is returned as
// is.
func (s *Stream) NetConn() stdnet.Conn { return &netConn{s: s} }

type netConn struct{ s *Stream }

func (c *netConn) wrap(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &stdnet.OpError{Op: op, Net: "tcp", Source: c.s.laddr, Addr: c.s.raddr, Err: err}
}

func (c *netConn) Read(p []byte) (int, error) {
	n, err, f := c.s.read(p, true)
	if f != nil {
		n, err = f.Join()
	}
	return n, c.wrap("read", err)
}

func (c *netConn) Write(p []byte) (int, error) {
	n, err := c.s.WriteAll(p).Join()
	return n, c.wrap("write", err)
}

func (c *netConn) Close() error { return c.wrap("close", c.s.Close()) }

// CloseWrite lets io.Copy-style code half-close, as with *net.TCPConn.
func (c *netConn) CloseWrite() error { return c.wrap("close", c.s.CloseWrite()) }

func (c *netConn) LocalAddr() stdnet.Addr  { return c.s.laddr }
func (c *netConn) RemoteAddr() stdnet.Addr { return c.s.raddr }

func (c *netConn) SetDeadline(t time.Time) error {
	return c.wrap("set", c.s.SetDeadline(t))
}

func (c *netConn) SetReadDeadline(t time.Time) error {
	return c.wrap("set", c.s.SetReadDeadline(t))
}

func (c *netConn) SetWriteDeadline(t time.Time) error {
	return c.wrap("set", c.s.SetWriteDeadline(t))
}
