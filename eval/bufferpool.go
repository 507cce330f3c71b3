package eval

import (
	"math/bits"
	"sync"
)

// bufferPool is a memory.Allocator that keeps the buffers freed to it for
// reuse. The Parquet reader allocates its page and level buffers anew for
// every column chunk and frees them after it; with the Go allocator each
// becomes garbage, and a load of a large file would grow the heap, and so
// the process's memory, by a multiple of what it keeps. Buffers come in
// power-of-two sizes from 4 KiB, zeroed like the Go allocator's, and at
// most maxPooled of each size wait for reuse.
type bufferPool struct {
	mu   sync.Mutex
	free [64][][]byte
}

const (
	minPooled = 4 << 10
	maxPooled = 16
)

func sizeClass(n int) int { return bits.Len(uint(n - 1)) }

// Allocate returns a zeroed buffer of size bytes.
func (p *bufferPool) Allocate(size int) []byte {
	if size < minPooled {
		return make([]byte, size)
	}
	c := sizeClass(size)
	p.mu.Lock()
	if n := len(p.free[c]); n > 0 {
		b := p.free[c][n-1]
		p.free[c] = p.free[c][:n-1]
		p.mu.Unlock()
		b = b[:size]
		clear(b)
		return b
	}
	p.mu.Unlock()
	return make([]byte, size, 1<<c)
}

// Reallocate resizes b to size bytes, keeping its contents; bytes past
// the old length are zero.
func (p *bufferPool) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free keeps b for reuse when it is one of the pool's sizes.
func (p *bufferPool) Free(b []byte) {
	c := cap(b)
	if c < minPooled || c&(c-1) != 0 {
		return
	}
	k := sizeClass(c)
	p.mu.Lock()
	if len(p.free[k]) < maxPooled {
		p.free[k] = append(p.free[k], b[:0])
	}
	p.mu.Unlock()
}
