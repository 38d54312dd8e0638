// Package smoke holds the black-box smoke test of the benchmark peers: it
// builds every server under bench/peers, starts each on 127.0.0.1:0 and
// checks the contract wshub's benchmarks rely on with gorilla/websocket
// clients.
package smoke
