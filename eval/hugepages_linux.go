package eval

import (
	"syscall"
	"unsafe"
)

// collapseHugePages asks Linux to back a large slice, whose pages have
// been touched already, with transparent huge pages. The loader probes
// member tables in random order; with 4 KiB pages nearly every probe
// misses the TLB. The pages are faulted in first at 4 KiB and collapsed
// afterwards (MADV_COLLAPSE, Linux 6.1+), because on virtual machines
// faulting huge pages directly costs several times as much: 2.0 s for
// 660 MB, against 0.34 s for the 4 KiB faults and 0.2 s for the collapse
// in a fresh process, measured here. A collapse waits for compaction, so
// it only pays for tables of tens of megabytes. Where collapsing is not
// supported the range is marked for khugepaged to collapse later. It is
// advice only: errors are ignored and results never depend on it.
func collapseHugePages[T any](s []T) {
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
	const madvHugePage, madvCollapse = 14, 25
	if syscall.Madvise(b, madvCollapse) != nil {
		_ = syscall.Madvise(b, madvHugePage)
	}
}

// populate faults in the (whole) pages of s for writing in one system call
// (MADV_POPULATE_WRITE, Linux 5.14+), leaving their contents as they are,
// and reports whether the kernel did. Memory fresh from the system that is
// read before it is written maps the shared zero page first, and the write
// that follows faults again to replace it, flushing the TLB of every core
// the process runs on: at a million members that cost a second of CPU.
// Such reads are common: the collector scans a large allocation that
// holds pointers as soon as the allocation starts a cycle, the write
// barrier reads each pointer it overwrites, and counting reads before it
// writes. A populated range also faults in faster than touching each page.
func populate[T any](s []T) bool {
	if len(s) == 0 {
		return true
	}
	const page = 4096
	base := unsafe.Pointer(&s[0])
	size := uintptr(len(s)) * unsafe.Sizeof(s[0])
	// Only the whole pages inside s: the others hold other objects.
	skip := (page - uintptr(base)%page) % page
	if size < skip+page {
		return true
	}
	b := unsafe.Slice((*byte)(unsafe.Add(base, skip)), (size-skip)&^(page-1))
	const madvPopulateWrite = 23
	return syscall.Madvise(b, madvPopulateWrite) == nil
}
