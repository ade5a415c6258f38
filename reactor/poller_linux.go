package reactor

import (
	"errors"

	"golang.org/x/sys/unix"
)

// poller wraps one epoll instance and the eventfd that wakes it from other goroutines.
type poller struct {
	epfd   int
	evfd   int
	events []unix.EpollEvent
	rbuf   [8]byte
}

// wakeValue is what a producer adds to the eventfd counter; a package-level array so the
// write does not allocate.
var wakeValue = [8]byte{1}

func newPoller(maxEvents int) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	p := &poller{epfd: epfd, evfd: evfd, events: make([]unix.EpollEvent, maxEvents)}
	// Level-triggered on the eventfd: if a turn ends before the counter is read, the next
	// epoll_wait still returns at once.
	if err := p.add(evfd, unix.EPOLLIN, 0); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *poller) add(fd int, events uint32, gen uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(gen)}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

func (p *poller) mod(fd int, events uint32, gen uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(gen)}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

func (p *poller) del(fd int) error {
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// wait returns the number of ready events; EINTR counts as zero events.
func (p *poller) wait(msec int) (int, error) {
	n, err := unix.EpollWait(p.epfd, p.events, msec)
	if err != nil {
		if errors.Is(err, unix.EINTR) {
			return 0, nil
		}
		return 0, err
	}
	return n, nil
}

func (p *poller) wake() {
	for {
		_, err := unix.Write(p.evfd, wakeValue[:])
		// EAGAIN means the counter is saturated: the loop is certainly going to wake.
		if err != unix.EINTR {
			return
		}
	}
}

func (p *poller) drainWake() {
	for {
		_, err := unix.Read(p.evfd, p.rbuf[:])
		if err != unix.EINTR {
			return
		}
	}
}

func (p *poller) close() {
	unix.Close(p.evfd)
	unix.Close(p.epfd)
}
