//go:build !linux

package metrics

// filesystemSpace is only implemented on Linux.
func filesystemSpace(string) (avail, size uint64, ok bool) { return 0, 0, false }
