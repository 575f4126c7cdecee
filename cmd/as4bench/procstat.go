package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat. The
// kernel reports 100 on every architecture Go supports on Linux (the value
// is fixed by the ABI, independent of CONFIG_HZ).
const clockTicks = 100

// procCPU is a process's CPU time so far (all threads), in seconds.
type procCPU struct {
	User, System float64
}

func (c procCPU) total() float64 { return c.User + c.System }

// parseProcStat reads utime and stime (fields 14 and 15) from the contents of
// /proc/PID/stat. The command name (field 2) is in parentheses and may itself
// contain spaces and parentheses, so fields are counted after the last ')'.
func parseProcStat(data []byte) (procCPU, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return procCPU{}, errors.New("/proc stat: no ')' after the command name")
	}
	// After ")": field 3 (state) is the first.
	fields := strings.Fields(string(data[end+1:]))
	const utimeIdx, stimeIdx = 14 - 3, 15 - 3
	if len(fields) <= stimeIdx {
		return procCPU{}, fmt.Errorf("/proc stat: %d fields after the command name, want at least %d", len(fields), stimeIdx+1)
	}
	ut, err1 := strconv.ParseUint(fields[utimeIdx], 10, 64)
	st, err2 := strconv.ParseUint(fields[stimeIdx], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return procCPU{}, fmt.Errorf("/proc stat: utime/stime: %w", err)
	}
	return procCPU{User: float64(ut) / clockTicks, System: float64(st) / clockTicks}, nil
}

func readProcCPU(pid int) (procCPU, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procCPU{}, err
	}
	return parseProcStat(data)
}

// parseStatusKB returns the value of a "Key:   N kB" line of /proc/PID/status
// in bytes.
func parseStatusKB(r io.Reader, key string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != key {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, fmt.Errorf("/proc status: %s has no value", key)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc status: %s: %w", key, err)
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			n *= 1024
		}
		return n, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc status: no %s line", key)
}

// peakRSS is VmHWM of a process: its resident set's high-water mark.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseStatusKB(f, "VmHWM")
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux ≥ 4.0, needs the
// right to write the process's clear_refs: same user or root).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// diskUsage is what du reports for dir: allocated blocks of every file and
// directory under it, in bytes. Files that vanish during the walk are skipped.
func diskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += fi.Size()
		}
		return nil
	})
	return total, err
}

// parseProcNetTCP returns the socket inodes listening on port in the contents
// of /proc/net/tcp or /proc/net/tcp6.
func parseProcNetTCP(data []byte, port int) []string {
	var inodes []string
	want := fmt.Sprintf(":%04X", port)
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 10 {
			continue
		}
		// f[1] local address, f[3] state (0A = LISTEN), f[9] inode.
		if strings.HasSuffix(f[1], want) && f[3] == "0A" {
			inodes = append(inodes, f[9])
		}
	}
	return inodes
}

// pidListeningOn finds the process that listens on a local TCP port, by
// matching the socket's inode against every process's file descriptors. It
// needs the right to read other processes' fd tables (same user or root).
func pidListeningOn(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, ino := range parseProcNetTCP(data, port) {
			inodes["socket:["+ino+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no socket listens on port %d", port)
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if err == nil && inodes[link] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("port %d: listening socket found but not its process (not allowed to read other processes' /proc/PID/fd?)", port)
}
