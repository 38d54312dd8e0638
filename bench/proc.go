package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux this tool targets.
const clockTicks = 100

// procPath names /proc/PID/file; pid 0 means this process ("self").
func procPath(pid int, file string) string {
	if pid == 0 {
		return "/proc/self/" + file
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}

// ProcessCPU returns the CPU seconds (user + system) that process pid has
// used, from /proc/PID/stat; pid 0 means this process. Resolution: 10 ms.
func ProcessCPU(pid int) (float64, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after the last ')'. utime and stime are fields 14, 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: malformed %s", procPath(pid, "stat"))
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: short %s", procPath(pid, "stat"))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bench: malformed times in %s", procPath(pid, "stat"))
	}
	return float64(utime+stime) / clockTicks, nil
}

// ProcessRSS returns the resident set size of process pid in bytes, from
// VmRSS in /proc/PID/status; pid 0 means this process.
func ProcessRSS(pid int) (int64, error) { return procStatusKB(pid, "VmRSS") }

// ProcessHWM returns the highest resident set size process pid has had,
// in bytes, from VmHWM in /proc/PID/status; pid 0 means this process.
func ProcessHWM(pid int) (int64, error) { return procStatusKB(pid, "VmHWM") }

// procStatusKB reads a field in kB of /proc/PID/status, in bytes.
func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(procPath(pid, "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("bench: no %s in %s", field, procPath(pid, "status"))
}

// ServerStats is what a server's stats URL reports (wshub's GET /stats).
// Fields a server does not report stay nil.
type ServerStats struct {
	HeapInuse   *int64 `json:"heap_inuse,omitempty"`
	HeapAlloc   *int64 `json:"heap_alloc,omitempty"`
	StackInuse  *int64 `json:"stack_inuse,omitempty"`
	Goroutines  *int64 `json:"goroutines,omitempty"`
	Connections *int64 `json:"connections,omitempty"`
	// Cluster is a wshub cluster node's counters (cmd/wshub -nats).
	Cluster *ClusterStats `json:"cluster,omitempty"`
}

var statsClient = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
}

// FetchStats GETs url and decodes the JSON. A server without the route
// (404) gives (nil, nil): peers have none.
func FetchStats(url string) (*ServerStats, error) {
	resp, err := statsClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: GET %s: %s", url, resp.Status)
	}
	var s ServerStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("bench: GET %s: %w", url, err)
	}
	return &s, nil
}

// Host describes the machine a result was measured on.
type Host struct {
	CPUModel string `json:"cpu_model"`
	CPUs     int    `json:"cpus"` // processors in /proc/cpuinfo
	Kernel   string `json:"kernel"`
}

// ReadHost reads the CPU model from /proc/cpuinfo and the kernel release
// from uname(2).
func ReadHost() Host {
	h := Host{CPUModel: "unknown", Kernel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch strings.TrimSpace(k) {
			case "processor":
				h.CPUs++
			case "model name":
				if h.CPUModel == "unknown" {
					h.CPUModel = strings.TrimSpace(v)
				}
			}
		}
	}
	if h.CPUs == 0 {
		h.CPUs = runtime.NumCPU()
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		var b []byte
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		h.Kernel = string(b)
	}
	return h
}
