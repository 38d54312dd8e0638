//go:build race

package smoke_test

// raceEnabled builds the peers with -race when the test itself runs with it.
const raceEnabled = true
