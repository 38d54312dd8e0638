// Package clustertest holds the cluster package's tests: three wshub nodes
// on an embedded NATS server; RunNATS and StartNATS serve the other
// modules' cluster tests too (cmd/wshub, internal/e2e). It is a module of its own so that the
// cluster module requires only nats.go, not the NATS server its tests run.
package clustertest
