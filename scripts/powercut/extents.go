package main

import (
	"math"
	"slices"
	"sort"

	"golang.org/x/sys/unix"
)

// extent is a run of unsynced bytes at off.
type extent struct {
	off  int64
	data []byte
}

func (e extent) end() int64 { return e.off + int64(len(e.data)) }

// extents holds a file's unsynced writes: sorted, non-overlapping and non-adjacent (touching runs are
// merged, so a sequential writer keeps one extent that grows by append). Memory is the unsynced bytes
// plus append's slack.
type extents []extent

// write stores p at off; a later write overwrites the bytes of earlier ones.
func (x *extents) write(off int64, p []byte) {
	if len(p) == 0 {
		return
	}
	s := *x
	end := off + int64(len(p))
	if n := len(s); n > 0 && s[n-1].end() == off {
		s[n-1].data = append(s[n-1].data, p...) // the common case: appending
		return
	}
	// s[i:j] are the extents that overlap or touch [off, end).
	i := sort.Search(len(s), func(k int) bool { return s[k].end() >= off })
	if i < len(s) && s[i].off <= off && end <= s[i].end() {
		copy(s[i].data[off-s[i].off:], p) // an overwrite inside one extent
		return
	}
	j := i
	for j < len(s) && s[j].off <= end {
		j++
	}
	if i == j {
		*x = slices.Insert(s, i, extent{off, slices.Clone(p)})
		return
	}
	lo, hi := min(off, s[i].off), max(end, s[j-1].end())
	var buf []byte
	if s[i].off == lo && int64(cap(s[i].data)) >= hi-lo {
		buf = s[i].data[:hi-lo]
	} else {
		buf = make([]byte, hi-lo)
		copy(buf[s[i].off-lo:], s[i].data)
	}
	for _, e := range s[i+1 : j] {
		copy(buf[e.off-lo:], e.data)
	}
	copy(buf[off-lo:], p)
	s[i] = extent{lo, buf}
	*x = slices.Delete(s, i+1, j)
}

// punch forgets the unsynced bytes in [lo, hi).
func (x *extents) punch(lo, hi int64) {
	if lo >= hi {
		return
	}
	s := *x
	i := sort.Search(len(s), func(k int) bool { return s[k].end() > lo })
	j := i
	for j < len(s) && s[j].off < hi {
		j++
	}
	if i == j {
		return
	}
	var keep [2]extent
	n := 0
	if first := s[i]; first.off < lo {
		// Capped, so appending to the head never writes into the tail that shares its array.
		keep[n] = extent{first.off, first.data[: lo-first.off : lo-first.off]}
		n++
	}
	if last := s[j-1]; last.end() > hi {
		keep[n] = extent{hi, last.data[hi-last.off:]}
		n++
	}
	*x = slices.Replace(s, i, j, keep[:n]...)
}

// truncate forgets the unsynced bytes at and after size.
func (x *extents) truncate(size int64) { x.punch(size, math.MaxInt64) }

// size is the end of the last unsynced byte (0 if none).
func (x extents) size() int64 {
	if len(x) == 0 {
		return 0
	}
	return x[len(x)-1].end()
}

// overlay copies the unsynced bytes that fall in [off, off+len(dst)) over dst.
func (x extents) overlay(dst []byte, off int64) {
	end := off + int64(len(dst))
	i := sort.Search(len(x), func(k int) bool { return x[k].end() > off })
	for ; i < len(x) && x[i].off < end; i++ {
		e := x[i]
		from, to := max(e.off, off), min(e.end(), end)
		copy(dst[from-off:to-off], e.data[from-e.off:to-e.off])
	}
}

// apply writes the unsynced bytes to fd (the caller then fsyncs it and calls clear).
func (x extents) apply(fd int) error {
	for _, e := range x {
		for done := 0; done < len(e.data); {
			n, err := unix.Pwrite(fd, e.data[done:], e.off+int64(done))
			if err != nil {
				return err
			}
			done += n
		}
	}
	return nil
}

// clear forgets every extent, releasing their memory.
func (x *extents) clear() {
	clear(*x)
	*x = (*x)[:0]
}
