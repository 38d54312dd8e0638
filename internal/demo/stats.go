package demo

import (
	"encoding/json"
	"net/http"
	"runtime"

	"github.com/wshub/wshub/engine"
)

// stats is the JSON served at /stats, for load tools (cmd/wsbench) that
// split the server's memory into heap and stacks.
type stats struct {
	Connections int    `json:"connections"`
	Goroutines  int    `json:"goroutines"`
	HeapInuse   uint64 `json:"heap_inuse"`
	StackInuse  uint64 `json:"stack_inuse"`
	Sys         uint64 `json:"sys"`
}

// serveStats reports the process's memory and connection counts.
func serveStats(srv *engine.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(stats{
			Connections: srv.Len(),
			Goroutines:  runtime.NumGoroutine(),
			HeapInuse:   ms.HeapInuse,
			StackInuse:  ms.StackInuse,
			Sys:         ms.Sys,
		})
	})
}
