package robot

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"otcompat/deploy"
)

// Arch is a robot's machine, as `uname -m` names it, with the build of
// otcompat that runs there.
type Arch struct {
	Machine string // uname -m
	GOARCH  string
	GOARM   string // "7" for 32-bit ARM, else empty
	// DistName is the file scripts/dist builds for it.
	DistName string
}

// arches are the machines otcompat is built for: an OT-2 is a Raspberry Pi
// 3 running 32-bit ARMv7, a Flex is 64-bit ARM, a lab server x86-64.
var arches = []Arch{
	{Machine: "armv7l", GOARCH: "arm", GOARM: "7", DistName: "otcompat-linux-armv7"},
	{Machine: "aarch64", GOARCH: "arm64", DistName: "otcompat-linux-arm64"},
	{Machine: "x86_64", GOARCH: "amd64", DistName: "otcompat-linux-amd64"},
}

// archOf is the build for a `uname -m` answer.
func archOf(machine string) (Arch, error) {
	for _, a := range arches {
		if a.Machine == machine {
			return a, nil
		}
	}
	names := make([]string, len(arches))
	for i, a := range arches {
		names[i] = a.Machine
	}
	return Arch{}, fmt.Errorf("the robot's architecture is %q (uname -m): otcompat is built for %s only", machine, strings.Join(names, ", "))
}

// Facts are what install needs to know about the robot before it changes
// anything.
type Facts struct {
	Arch Arch
	// DataFreeBytes is the space left on the file system of /data.
	DataFreeBytes int64
	// Installed: deploy.Dir exists.
	Installed bool
	// BootDir is the robot's boot-scripts directory: the Flex's where its
	// parent exists, else the OT-2's (whose parent is /data). Missing lists
	// it when it does not exist yet.
	BootDir string
	Missing []string
}

// Robot paths every Opentrons robot has: robot-server's socket and the
// partition that survives software updates.
const (
	serverSocket = "/run/aiohttp.sock"
	dataDir      = "/data"
)

// probeScript prints one "key value" line per fact; it changes nothing.
// Its arguments are robot paths under the root: /data, robot-server's
// socket, deploy.Dir, the Flex's boot-scripts directory and its parent,
// the OT-2's boot-scripts directory.
const probeScript = `echo "machine $(uname -m)"
yes() { if [ "$@" ]; then echo yes; else echo no; fi; }
echo "data $(yes -d "$1")"
echo "socket $(yes -S "$2")"
echo "installed $(yes -e "$3")"
echo "flexparent $(yes -d "$5")"
echo "flexboot $(yes -d "$4")"
echo "ot2boot $(yes -d "$6")"
if [ -d "$1" ]; then df -Pk "$1" | sed 's/^/df /'; fi
`

// probe learns the robot's architecture, free space and what is installed,
// and refuses a host that is not an Opentrons robot.
func (c *Conn) probe(ctx context.Context) (Facts, error) {
	cmd := "sh -c " + quote(probeScript) + " probe"
	for _, p := range []string{dataDir, serverSocket, deploy.Dir, deploy.BootDirFlex, path.Dir(deploy.BootDirFlex), deploy.BootDirOT2} {
		cmd += " " + quote(c.path(p))
	}
	out, err := c.run(ctx, cmd, nil)
	if err != nil {
		return Facts{}, err
	}
	return parseProbe(string(out))
}

// parseProbe reads probeScript's output.
func parseProbe(out string) (Facts, error) {
	kv := map[string]string{}
	var df []string
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, " ")
		if k == "df" {
			df = append(df, v)
		} else {
			kv[k] = strings.TrimSpace(v)
		}
	}
	switch {
	case kv["data"] != "yes":
		return Facts{}, fmt.Errorf("not an Opentrons robot: it has no %s directory", dataDir)
	case kv["socket"] != "yes":
		return Facts{}, fmt.Errorf("not an Opentrons robot (or robot-server is not running): no robot-server socket %s", serverSocket)
	}
	a, err := archOf(kv["machine"])
	if err != nil {
		return Facts{}, err
	}
	free, err := parseDF(strings.Join(df, "\n"))
	if err != nil {
		return Facts{}, fmt.Errorf("free space on %s: %v", dataDir, err)
	}
	f := Facts{Arch: a, DataFreeBytes: free, Installed: kv["installed"] == "yes", BootDir: deploy.BootDirOT2}
	switch {
	case kv["flexparent"] == "yes":
		f.BootDir = deploy.BootDirFlex
		if kv["flexboot"] != "yes" {
			f.Missing = []string{deploy.BootDirFlex}
		}
	case a.GOARCH == "arm64":
		// A Flex runs only the boot scripts of its own directory.
		return Facts{}, fmt.Errorf("the robot is %s (a Flex) but has no %s, where a Flex keeps its boot scripts: not a robot layout otcompat knows", a.Machine, path.Dir(deploy.BootDirFlex))
	case kv["ot2boot"] != "yes":
		f.Missing = []string{deploy.BootDirOT2}
	}
	return f, nil
}

// parseDF reads the available space from `df -Pk DIR`: POSIX output, a
// header line then one line per file system with the columns name,
// 1024-blocks, used, available, capacity, mount point. The name may hold
// spaces, so the columns are counted from the capacity ("NN%").
func parseDF(out string) (int64, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "Filesystem") {
		return 0, fmt.Errorf("df -Pk printed %q, not its POSIX table", firstLineOf(out))
	}
	f := strings.Fields(lines[1])
	for i := 3; i < len(f); i++ {
		if !strings.HasSuffix(f[i], "%") {
			continue
		}
		avail, err := strconv.ParseInt(f[i-1], 10, 64)
		if err != nil || avail < 0 || avail > 1<<53/1024 {
			break
		}
		return avail * 1024, nil
	}
	return 0, fmt.Errorf("df -Pk printed %q: no available-blocks column", lines[1])
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// spaceFactor times the binary's size is the least free space on /data
// install accepts: the new binary beside an old one while it replaces it,
// and room left for robot-server's own files.
const spaceFactor = 3

// checkSpace refuses an install that would fill /data.
func checkSpace(free, binary int64) error {
	need := binary * spaceFactor
	if free < need {
		return fmt.Errorf("too little space on %s: %s free, install needs %s (%d x the %s binary)", dataDir, mib(free), mib(need), spaceFactor, mib(binary))
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
