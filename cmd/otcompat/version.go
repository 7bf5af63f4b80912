package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version and Commit are set at link time:
//
//	go build -ldflags "-X main.Version=0.1.0 -X main.Commit=abc1234" ./cmd/otcompat
//
// Left empty, they come from the build information Go embeds in the binary.
// (They are capitalised because serve.go imports go-version as "version".)
var (
	Version string
	Commit  string
)

// buildInfo is what `otcompat version` reports.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go"`
	Platform  string `json:"platform"`
}

// readBuildInfo is debug.ReadBuildInfo, swapped out by tests.
var readBuildInfo = debug.ReadBuildInfo

// currentBuild fills what the linker did not set from Go's build
// information: the main module's version and the VCS revision, when the
// build recorded them (with -buildvcs=false, or from `go run`, it did not).
func currentBuild() buildInfo {
	b := buildInfo{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := readBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		if b.Commit == "" {
			var rev, modified string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" && modified == "true" {
				rev += "-dirty"
			}
			b.Commit = rev
		}
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
	}
	if b.Version == "" {
		b.Version = "unknown"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("otcompat %s (commit %s, %s, %s)", b.Version, b.Commit, b.GoVersion, b.Platform)
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print otcompat's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			b := currentBuild()
			out := c.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				return failed(enc.Encode(b))
			}
			_, err := fmt.Fprintln(out, b)
			return failed(err)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON object instead of one line")
	withEnvHelp(c.Flags())
	return c
}
