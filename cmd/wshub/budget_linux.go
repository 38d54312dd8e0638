package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// defaultBudget is a quarter of the memory the process may use: the
// machine's RAM, or its cgroup's limit when lower (in a container, Sysinfo
// reports the host's). 0 if neither is known.
func defaultBudget() int {
	var avail uint64
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		avail = uint64(si.Totalram) * uint64(si.Unit)
	}
	if lim, ok := cgroupLimit(); ok && (avail == 0 || lim < avail) {
		avail = lim
	}
	return int(min(avail/4, uint64(^uint(0)>>1)))
}

// cgroupLimit reads the memory limit of the process's cgroup (v2, then v1).
func cgroupLimit() (uint64, bool) {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || v == 0 || v >= 1<<62 { // "max", or v1's "no limit"
			continue
		}
		return v, true
	}
	return 0, false
}
