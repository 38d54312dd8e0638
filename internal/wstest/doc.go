// Package wstest is what wshub's tests share: a WebSocket client that
// speaks the protocol as bytes over TCP (to send what real clients cannot,
// and to see exactly what the server wrote), client frames, payloads, a
// goroutine-leak check for TestMain, a log buffer safe for event loops and
// a polling wait. It uses only the standard library, gobwas/ws and codec,
// so the library module's tests need nothing else.
//
// # Thread rules
//
// A Conn belongs to one goroutine. Its methods that take no error return
// fail the test with t.Fatalf, so they must run on the test's goroutine;
// from other goroutines use ReadFrame and ReadMessage, which return errors.
// LockedBuffer is safe from any goroutine.
package wstest

import "time"

// Timeout bounds every wait of a test: a read, a dial, a handshake, a
// condition. A test that hits it fails instead of hanging. It is generous
// because -race on a busy 2-core machine is slow; tests that check a
// duration use their own, tighter bounds.
const Timeout = 10 * time.Second
