//go:build !linux

package eval

// collapseHugePages is a no-op where transparent huge pages do not exist.
func collapseHugePages[T any](s []T) {}

// populate reports false: pages are faulted in as they are first touched.
func populate[T any](s []T) bool { return false }
