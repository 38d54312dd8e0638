package engine

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// The seed's log levels, as slog levels: Verbose logs every frame, Subtle
// logs connects, disconnects and refusals, Nothing logs nothing.
const (
	LevelVerbose = slog.LevelDebug
	LevelSubtle  = slog.LevelInfo
	LevelNothing = slog.Level(100)
)

// ParseLevel maps "verbose", "subtle" or "nothing" to its slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "verbose":
		return LevelVerbose, nil
	case "subtle":
		return LevelSubtle, nil
	case "nothing":
		return LevelNothing, nil
	}
	return 0, fmt.Errorf("engine: unknown log level %q (want verbose, subtle or nothing)", s)
}

// NewLogger returns a text logger writing to w at level.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// gnetLogger routes gnet's own log lines into the server's slog.Logger.
// gnet says nothing else when an event loop exits on an error (its engine
// then shuts down with "engine is being shutdown with error"), so that
// line stops the server, and Wait reports it.
type gnetLogger struct{ s *Server }

func (g gnetLogger) Debugf(f string, a ...any) { g.s.log.Debug(fmt.Sprintf(f, a...), "src", "gnet") }
func (g gnetLogger) Infof(f string, a ...any)  { g.s.log.Info(fmt.Sprintf(f, a...), "src", "gnet") }
func (g gnetLogger) Warnf(f string, a ...any)  { g.s.log.Warn(fmt.Sprintf(f, a...), "src", "gnet") }
func (g gnetLogger) Fatalf(f string, a ...any) { g.Errorf(f, a...) }

func (g gnetLogger) Errorf(f string, a ...any) {
	msg := fmt.Sprintf(f, a...)
	g.s.log.Error(msg, "src", "gnet")
	if strings.HasPrefix(f, "engine is being shutdown with error") {
		go g.s.fatal(errors.New("gnet: " + msg))
	}
}
