package main

import (
	"bytes"
	"math/rand"
	"testing"
)

// model is the reference for extents: the bytes and which of them are buffered.
type model struct {
	data []byte
	set  []bool
}

func (m *model) write(off int, p []byte) {
	for i, b := range p {
		m.data[off+i], m.set[off+i] = b, true
	}
}

func (m *model) punch(lo, hi int) {
	for i := lo; i < hi && i < len(m.set); i++ {
		m.data[i], m.set[i] = 0, false
	}
}

func check(t *testing.T, x extents, m *model, step int) {
	t.Helper()
	for i, e := range x {
		if len(e.data) == 0 || (i > 0 && x[i-1].end() >= e.off) {
			t.Fatalf("step %d: extents not sorted, non-empty, apart: %v at %d", step, x, i)
		}
	}
	got := make([]byte, len(m.data))
	x.overlay(got, 0)
	if !bytes.Equal(got, m.data) {
		t.Fatalf("step %d: overlay differs from the model", step)
	}
	covered := make([]bool, len(m.set))
	for _, e := range x {
		for i := e.off; i < e.end(); i++ {
			covered[i] = true
		}
	}
	end := 0
	for i, s := range m.set {
		if s != covered[i] {
			t.Fatalf("step %d: byte %d buffered=%v, model says %v", step, i, covered[i], s)
		}
		if s {
			end = i + 1
		}
	}
	if x.size() != int64(end) {
		t.Fatalf("step %d: size %d, want %d", step, x.size(), end)
	}
	// A window in the middle reads the same as the whole.
	if len(got) > 10 {
		w := make([]byte, 7)
		x.overlay(w, 3)
		if !bytes.Equal(w, m.data[3:10]) {
			t.Fatalf("step %d: window overlay differs", step)
		}
	}
}

// Random writes, punches and truncates keep extents equal to a byte-by-byte model.
func TestExtentsMatchModel(t *testing.T) {
	const size = 512
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 200; round++ {
		var x extents
		m := &model{make([]byte, size), make([]bool, size)}
		for step := 0; step < 60; step++ {
			off := rng.Intn(size - 40)
			n := rng.Intn(40)
			switch r := rng.Intn(10); {
			case r < 6:
				p := make([]byte, n)
				rng.Read(p)
				x.write(int64(off), p)
				m.write(off, p)
			case r < 7: // sequential append, the fast path
				if end := int(x.size()); end+n < size {
					p := bytes.Repeat([]byte{byte(step)}, n)
					x.write(int64(end), p)
					m.write(end, p)
				}
			case r < 9:
				x.punch(int64(off), int64(off+n))
				m.punch(off, off+n)
			default:
				x.truncate(int64(off))
				m.punch(off, size)
			}
			check(t, x, m, step)
		}
		x.clear()
		if len(x) != 0 || x.size() != 0 {
			t.Fatal("clear left extents")
		}
	}
}

// Appending through punched-off heads never corrupts the tail that shares their array.
func TestExtentsSplitDoesNotAlias(t *testing.T) {
	var x extents
	x.write(0, []byte("0123456789"))
	x.punch(4, 6) // "0123" and "6789" share one array
	x.write(4, []byte("ab"))
	got := make([]byte, 10)
	x.overlay(got, 0)
	if string(got) != "0123ab6789" || len(x) != 1 {
		t.Fatalf("got %q in %d extents", got, len(x))
	}
}
