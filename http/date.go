package http

import (
	"sync"
	"sync/atomic"
	"time"
)

// The Date header is formatted once a second by a timer, not per response:
// formatting costs more than the rest of a small response. The timer runs
// only while some server holds a reference, so an idle program (or a test
// checking for leaks) has nothing ticking.
type dateBuf [len(TimeFormat)]byte

// TimeFormat is the IMF-fixdate layout of the Date header (RFC 9110 5.6.7).
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

var (
	dateVal    atomic.Pointer[dateBuf]
	dateActive atomic.Int32
	dateMu     sync.Mutex
	dateRefs   int
	dateTimer  *time.Timer
)

func storeDate(now time.Time) {
	var d dateBuf
	now.UTC().AppendFormat(d[:0], TimeFormat)
	dateVal.Store(&d)
}

func dateTick() {
	dateMu.Lock()
	defer dateMu.Unlock()
	if dateRefs == 0 {
		return
	}
	now := time.Now()
	storeDate(now)
	dateTimer.Reset(time.Second - time.Duration(now.Nanosecond()))
}

// acquireDate starts the refresh timer for one more user.
func acquireDate() {
	dateMu.Lock()
	defer dateMu.Unlock()
	dateRefs++
	if dateRefs == 1 {
		now := time.Now()
		storeDate(now)
		dateActive.Store(1)
		dateTimer = time.AfterFunc(time.Second-time.Duration(now.Nanosecond()), dateTick)
	}
}

// releaseDate stops the timer after its last user.
func releaseDate() {
	dateMu.Lock()
	defer dateMu.Unlock()
	dateRefs--
	if dateRefs == 0 {
		dateActive.Store(0)
		dateTimer.Stop()
		dateTimer = nil
	}
}

// currentDate is the Date value the timer keeps, or nil while no server
// runs it.
func currentDate() *dateBuf {
	if dateActive.Load() != 0 {
		return dateVal.Load()
	}
	return nil
}

// appendDate appends the current date; without a running server it formats
// the time on the spot (still without allocating).
func appendDate(dst []byte) []byte {
	if d := currentDate(); d != nil {
		return append(dst, d[:]...)
	}
	return time.Now().UTC().AppendFormat(dst, TimeFormat)
}
