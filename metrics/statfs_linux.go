package metrics

import "syscall"

// filesystemSpace returns the bytes available to unprivileged users and the
// total size of the filesystem holding dir.
func filesystemSpace(dir string) (avail, size uint64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, false
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), true
}
