package bench_test

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/wshub/wshub/bench"
)

// jsonMessage builds a whole JSON message as the client sends it.
func jsonMessage(st bench.Stamp, size int, variant uint64) []byte {
	return bench.AppendJSONBody(bench.AppendJSONStamp(nil, st), size, variant)
}

func deflatedSize(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = w.Write(b)
	_ = w.Flush()
	return buf.Len()
}

// TestJSONPayload: every size gives a valid JSON text of exactly that
// size that carries its stamp; from 1 KiB on it compresses as JSON does,
// and not as padding does.
func TestJSONPayload(t *testing.T) {
	t.Parallel()
	minSize := bench.JSONStampLen + len(`"pad":""}`)
	st := bench.Stamp{Sent: 1_764_000_000_123_456_789, Seq: 4242, Publisher: 19_999}
	for _, size := range []int{minSize, minSize + 1, 100, 150, 200, 1000, 1024, 4096, 65536, 1 << 20} {
		b := jsonMessage(st, size, 3)
		if len(b) != size {
			t.Errorf("size %d: built %d bytes", size, len(b))
			continue
		}
		if !json.Valid(b) || !utf8.Valid(b) {
			t.Errorf("size %d: not valid JSON text: %.200s", size, b)
		}
		var v struct {
			Stamp    string           `json:"stamp"`
			Entities []map[string]any `json:"entities"`
		}
		if err := json.Unmarshal(b, &v); err != nil || len(v.Stamp) != 40 {
			t.Errorf("size %d: stamp field %q, %v", size, v.Stamp, err)
		}
		if got, err := bench.ReadJSONStamp(b); err != nil || got != st {
			t.Errorf("size %d: ReadJSONStamp = %+v, %v; want %+v", size, got, err, st)
		}
		if size >= 1024 {
			if r := float64(deflatedSize(t, b)) / float64(size); r > 0.6 || r < 0.1 {
				t.Errorf("size %d compresses to %.2f of itself: want JSON's 0.1-0.6", size, r)
			}
			if len(v.Entities) < size/200 {
				t.Errorf("size %d: only %d entities", size, len(v.Entities))
			}
		}
	}
	if a, b := jsonMessage(st, 1024, 1), jsonMessage(st, 1024, 2); bytes.Equal(a, b) {
		t.Error("two variants are the same message")
	}
	if a, b := jsonMessage(st, 1024, 1), jsonMessage(st, 1024, 1); !bytes.Equal(a, b) {
		t.Error("one variant built twice differs: every loop must build the same messages")
	}
}

func TestReadJSONStampRefuses(t *testing.T) {
	t.Parallel()
	good := jsonMessage(bench.Stamp{Seq: 1}, 100, 0)
	for name, b := range map[string][]byte{
		"short":        good[:bench.JSONStampLen-1],
		"other field":  append([]byte(`{"stamq"`), good[8:]...),
		"not hex":      append(append(bytes.Clone(good[:12]), 'g'), good[13:]...),
		"binary stamp": make([]byte, 100),
		"unterminated": append(bytes.Clone(good[:bench.JSONStampLen-2]), 'x', ','),
		"no comma":     append(bytes.Clone(good[:bench.JSONStampLen-1]), '}'),
	} {
		if _, err := bench.ReadJSONStamp(b); err == nil || errors.Is(err, nil) {
			t.Errorf("%s: no error", name)
		}
	}
}
