//go:build !race

package syncer

// raceEnabled is set when the race detector slows everything down.
const raceEnabled = false
