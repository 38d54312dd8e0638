//go:build !race

package smoke_test

const raceEnabled = false
