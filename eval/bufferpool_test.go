package eval

import (
	"bytes"
	"testing"
)

func TestBufferPool(t *testing.T) {
	var p bufferPool
	for _, size := range []int{0, 1, minPooled - 1, minPooled, minPooled + 1, 1 << 20} {
		b := p.Allocate(size)
		if len(b) != size {
			t.Fatalf("Allocate(%d): length %d", size, len(b))
		}
		for i := range b {
			b[i] = 0xff // dirty it before it goes back
		}
		p.Free(b)
		again := p.Allocate(size)
		if !bytes.Equal(again, make([]byte, size)) {
			t.Fatalf("Allocate(%d) after Free: not zeroed", size)
		}
		if size >= minPooled && &again[0] != &b[0] {
			t.Errorf("Allocate(%d) after Free: buffer not reused", size)
		}
	}

	b := p.Allocate(5000)
	copy(b, "keep")
	b = p.Reallocate(6000, b) // within the 8 KiB class
	if string(b[:4]) != "keep" || len(b) != 6000 || !bytes.Equal(b[5000:], make([]byte, 1000)) {
		t.Fatalf("Reallocate in place: %q..., length %d", b[:4], len(b))
	}
	b = p.Reallocate(100_000, b)
	if string(b[:4]) != "keep" || len(b) != 100_000 || !bytes.Equal(b[4:], make([]byte, 100_000-4)) {
		t.Fatalf("Reallocate to a larger class: %q..., length %d", b[:4], len(b))
	}

	// Buffers of other sizes are not kept, and at most maxPooled are.
	p.Free(make([]byte, 5000))
	if n := len(p.free[sizeClass(8192)]); n != 1 {
		t.Errorf("%d buffers of 8 KiB pooled, want the 1 freed by Reallocate", n)
	}
	for range 2 * maxPooled {
		p.Free(make([]byte, 0, 1<<16))
	}
	if n := len(p.free[sizeClass(1<<16)]); n != maxPooled {
		t.Errorf("%d buffers of 64 KiB pooled, want %d", n, maxPooled)
	}
}
