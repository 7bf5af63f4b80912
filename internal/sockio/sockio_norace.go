//go:build linux && !race

package sockio

func raceReleaseIO(uintptr) {}

func raceAcquireIO(uintptr) {}
