// Package clustertest holds the cluster package's tests: three wshub nodes
// on an embedded NATS server. It is a module of its own so that the
// cluster module requires only nats.go, not the NATS server its tests run.
package clustertest
