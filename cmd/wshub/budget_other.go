//go:build !linux

package main

// defaultBudget is 0 (no buffer budget) where the memory available is not
// read; -max-buffered sets one.
func defaultBudget() int { return 0 }
