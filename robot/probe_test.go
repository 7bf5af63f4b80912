package robot

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParseDF(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int64
		err      string
	}{
		{"busybox", "Filesystem           1024-blocks    Used Available Capacity Mounted on\n/dev/mmcblk0p4         7350440    845524   6110612  12% /data\n", 6110612 * 1024, ""},
		{"coreutils", "Filesystem     1024-blocks    Used Available Capacity Mounted on\n/dev/sda1        41152812 8462276  30577000      22% /\n", 30577000 * 1024, ""},
		{"name with spaces", "Filesystem 1024-blocks Used Available Capacity Mounted on\nmy disk 100 60 40 60% /mnt/my data\n", 40 * 1024, ""},
		{"zero free", "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 100 100 0 100% /data\n", 0, ""},
		{"no header", "/dev/x 100 100 0 100% /data\n", 0, "not its POSIX table"},
		{"empty", "", 0, "not its POSIX table"},
		{"no capacity", "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 100 100 0 /data\n", 0, "no available-blocks column"},
		{"negative", "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 100 100 -5 100% /data\n", 0, "no available-blocks column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDF(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseDF: %v, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseDF = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func FuzzParseDF(f *testing.F) {
	f.Add("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 100 60 40 60% /data\n")
	f.Add("Filesystem\n%")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseDF(s)
		if err == nil && n < 0 {
			t.Fatalf("parseDF(%q) = %d", s, n)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("parseDF(%q): error of more than one line: %q", s, err)
		}
	})
}

const dfOK = "df Filesystem 1024-blocks Used Available Capacity Mounted on\ndf /dev/x 100 60 40 60% /data\n"

func TestParseProbe(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		arch     string
		err      string
	}{
		{"ot2", "machine armv7l\ndata yes\nsocket yes\n" + dfOK, "arm", ""},
		{"flex", "machine aarch64\ndata yes\nsocket yes\nflexparent yes\n" + dfOK, "arm64", ""},
		{"flex without its boot directory's parent", "machine aarch64\ndata yes\nsocket yes\n" + dfOK, "", "has no /var/user-packages/etc"},
		{"no data", "machine armv7l\ndata no\nsocket yes\n", "", "no /data directory"},
		{"no socket", "machine armv7l\ndata yes\nsocket no\n" + dfOK, "", "no robot-server socket"},
		{"unknown machine", "machine riscv64\ndata yes\nsocket yes\n" + dfOK, "", `"riscv64"`},
		{"bad df", "machine x86_64\ndata yes\nsocket yes\ndf oops\n", "", "free space on /data"},
		{"nothing", "", "", "no /data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseProbe(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseProbe: %+v, %v; want error %q", f, err, tc.err)
				}
				return
			}
			if err != nil || f.Arch.GOARCH != tc.arch || f.DataFreeBytes != 40*1024 {
				t.Fatalf("parseProbe = %+v, %v; want %s and 40 KiB free", f, err, tc.arch)
			}
		})
	}
}

func FuzzParseProbe(f *testing.F) {
	f.Add("machine armv7l\ndata yes\nsocket yes\n" + dfOK)
	f.Fuzz(func(t *testing.T, s string) {
		facts, err := parseProbe(s)
		if err == nil && (facts.Arch.DistName == "" || facts.DataFreeBytes < 0) {
			t.Fatalf("parseProbe(%q) = %+v without an error", s, facts)
		}
	})
}

func TestCheckSpace(t *testing.T) {
	if err := checkSpace(45<<20, 15<<20); err != nil {
		t.Errorf("3 x the binary free: %v", err)
	}
	err := checkSpace(45<<20-1, 15<<20)
	if err == nil || !strings.Contains(err.Error(), "too little space on /data: 45.0 MiB free, install needs 45.0 MiB (3 x the 15.0 MiB binary)") {
		t.Errorf("one byte short: %v", err)
	}
}

// TestBinaryFor picks this program for its own architecture and scripts/
// dist's file for the others, checked against SHA256SUMS.
func TestBinaryFor(t *testing.T) {
	dist := t.TempDir()
	writeFile(t, filepath.Join(dist, "otcompat-linux-armv7"), "arm binary", 0o755)
	writeFile(t, filepath.Join(dist, "otcompat-linux-arm64"), "arm64 binary", 0o755)
	armSum, _, _ := fileSHA256(filepath.Join(dist, "otcompat-linux-armv7"))
	writeFile(t, filepath.Join(dist, "SHA256SUMS"), armSum+"  otcompat-linux-armv7\n"+strings.Repeat("0", 64)+"  otcompat-linux-arm64\n", 0o644)
	noSums := t.TempDir()
	writeFile(t, filepath.Join(noSums, "otcompat-linux-arm64"), "arm64 binary", 0o755)

	self := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	for _, tc := range []struct {
		name, machine, self, dist, want, err string
	}{
		{"self", self, "/self/otcompat", dist, "/self/otcompat", ""},
		{"dist armv7, sum matches", "armv7l", "", dist, "otcompat-linux-armv7", ""},
		{"dist arm64, sum differs", "aarch64", "", dist, "", "SHA256SUMS says 0000"},
		{"dist without SHA256SUMS", "aarch64", "", noSums, "otcompat-linux-arm64", ""},
		{"dist lacks the file", "x86_64", "", dist, "", "has no otcompat-linux-amd64"},
		{"no dist", "armv7l", "", "", "", "give --dist DIR holding otcompat-linux-armv7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.machine == "" {
				t.Skipf("no robot architecture is %s", runtime.GOARCH)
			}
			a, err := archOf(tc.machine)
			if err != nil {
				t.Fatal(err)
			}
			got, err := InstallOptions{Self: tc.self, Dist: tc.dist}.binaryFor(a)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("binaryFor: %q, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if !filepath.IsAbs(tc.want) {
				tc.want = filepath.Join(tc.dist, tc.want)
			}
			if err != nil || got != tc.want {
				t.Fatalf("binaryFor = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
