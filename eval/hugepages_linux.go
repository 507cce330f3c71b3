package eval

import (
	"syscall"
	"unsafe"
)

// adviseHugePages asks Linux to back a large, freshly allocated slice with
// transparent huge pages (where the system allows them on request). The
// loader scatters rows into such slices in random order; with 4 KiB pages
// nearly every write misses the TLB and first-touches a page, which on
// virtual machines costs about 3 s per GiB. It is advice only: errors are
// ignored and results never depend on it.
func adviseHugePages[T any](s []T) {
	if len(s) == 0 {
		return
	}
	size := uintptr(len(s)) * unsafe.Sizeof(s[0])
	if size < 4<<20 {
		return
	}
	const huge = 2 << 20
	base := unsafe.Pointer(&s[0])
	skip := (huge - uintptr(base)%huge) % huge // to the first 2 MiB boundary
	if size <= skip+huge {
		return
	}
	n := (size - skip) &^ (huge - 1)
	b := unsafe.Slice((*byte)(unsafe.Add(base, skip)), n)
	_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE
}
