package demo

import (
	"encoding/json"
	"net/http"
	"runtime"
	"runtime/debug"

	"github.com/wshub/wshub/engine"
)

// stats is the JSON served at /stats, for load tools (cmd/wsbench) that
// split the server's memory into heap and stacks.
type stats struct {
	Connections int    `json:"connections"`
	Goroutines  int    `json:"goroutines"`
	HeapInuse   uint64 `json:"heap_inuse"`
	HeapAlloc   uint64 `json:"heap_alloc"`
	StackInuse  uint64 `json:"stack_inuse"`
	Sys         uint64 `json:"sys"`
	Cluster     any    `json:"cluster,omitempty"` // Config.Cluster
}

// serveStats reports the process's memory and connection counts. With
// ?collect=1 it first collects the heap and returns the freed memory to the
// system, so that heap_alloc is the live heap and the process's RSS what a
// long-idle server settles to (a GC runs at least every two minutes, and
// the runtime returns freed memory gradually).
func serveStats(srv *engine.Server, cluster func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("collect") == "1" {
			runtime.GC()
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var cl any
		if cluster != nil {
			cl = cluster()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(stats{
			Cluster:     cl,
			Connections: srv.Len(),
			Goroutines:  runtime.NumGoroutine(),
			HeapInuse:   ms.HeapInuse,
			HeapAlloc:   ms.HeapAlloc,
			StackInuse:  ms.StackInuse,
			Sys:         ms.Sys,
		})
	})
}
