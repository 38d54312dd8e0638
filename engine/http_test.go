package engine_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wshub/wshub/engine"
)

// TestHandleHTTP serves a plain HTTP route on the WebSocket port: the
// handler's status, headers and body come back with Connection: close, and
// the server then ends TCP cleanly.
func TestHandleHTTP(t *testing.T) {
	t.Parallel()
	srv := engine.New()
	srv.Handle(wsPath, echo())
	srv.HandleHTTP("/page", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Query", r.URL.RawQuery)
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, "hello")
	}))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopServer(t, srv) })
	addr := srv.Addr().String()

	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{
			name: "GET", method: "GET", target: "/page?x=1",
			wantStatus: 202, wantBody: "hello",
			wantHeader: map[string]string{"X-Query": "x=1", "Content-Length": "5"},
		},
		{
			name: "HEAD", method: "HEAD", target: "/page",
			wantStatus: 202, wantBody: "",
		},
		{
			name: "POST", method: "POST", target: "/page",
			wantStatus: 405, wantHeader: map[string]string{"Allow": "GET, HEAD"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, addr)
			c.Write([]byte(head(tt.method+" "+tt.target+" HTTP/1.1", "Host: "+addr)))
			resp, err := http.ReadResponse(c.R, &http.Request{Method: tt.method})
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %s (%q), want %d", resp.Status, body, tt.wantStatus)
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
			if tt.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD response with body %q", body)
			}
			if !resp.Close {
				t.Errorf("response without Connection: close")
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); !strings.EqualFold(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			c.ExpectEOF()
		})
	}
}
