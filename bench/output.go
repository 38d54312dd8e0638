package bench

import (
	"encoding/json"
	"io"
	"os"
)

// WriteResult writes r as one JSON line: appended to the file path, or to
// w when path is "" or "-".
func WriteResult(r *Result, path string, w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "" || path == "-" {
		_, err = w.Write(b)
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
