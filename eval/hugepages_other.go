//go:build !linux

package eval

// collapseHugePages is a no-op where transparent huge pages do not exist.
func collapseHugePages[T any](s []T) {}
