//go:build race

package transforms

// raceEnabled is true under -race, where the 10 MB checks are skipped as too slow.
const raceEnabled = true
