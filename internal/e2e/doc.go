// Package e2e holds wshub's end-to-end tests against the clients people
// use: gorilla/websocket and coder/websocket, and headless Chromium
// driving the chat demo. It is a module of its own so that the library's
// go.mod requires none of them; scripts/test.sh runs it.
package e2e
