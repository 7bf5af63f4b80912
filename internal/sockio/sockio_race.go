//go:build linux && race

package sockio

import "syscall"

// The race detector learns that what one goroutine wrote before sending
// bytes happens before another reads them through the syscall package's
// Read and Write. Raw calls skip that, and a test that changes state, then
// sends a request to the proxy, would see a race that is not there; in race
// builds a zero-length syscall.Read or Write brings the same edges back.

func raceReleaseIO(fd uintptr) { _, _ = syscall.Write(int(fd), nil) }

func raceAcquireIO(fd uintptr) { _, _ = syscall.Read(int(fd), nil) }
