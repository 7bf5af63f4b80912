// Package deploy holds the files that put otcompat on an Opentrons robot
// (OT-2 or Flex) so that it survives software updates, and the paths they go
// to. See deploy/README.md for where each path comes from.
//
// Only /data and /var persist on a robot: the root file system is read-only
// and replaced by every update. So everything lives in Dir, and the boot hook
// (Hook, run at every boot from the robot's boot-scripts directory) puts the
// unit into /run/systemd/system and bind mounts the generated nginx
// configuration over /etc/nginx/nginx.conf. Nothing is ever written to /etc,
// so the stock state is what the robot has after "otcompat-boot stop" and the
// removal of Dir and the boot entry.
package deploy

import "embed"

// Robot holds the robot-side files under robot/: see Files for where each goes.
//
//go:embed robot
var Robot embed.FS

// Paths on the robot. Tests put a robot root in a temporary directory in
// front of each of them (the hook's ROOT variable).
const (
	// Dir holds everything otcompat keeps on the robot.
	Dir = "/data/otcompat"
	// Binary is the otcompat executable for the robot's architecture.
	Binary = Dir + "/otcompat"
	// EnvFile holds OTCOMPAT_ settings for the unit (optional).
	EnvFile = Dir + "/otcompat.env"
	// Hook is the boot hook: "start" (the default), "stop", "record-stock", "status".
	Hook = Dir + "/otcompat-boot"
	// UnitFile is the unit as shipped; the hook copies it to RuntimeUnit.
	UnitFile = Dir + "/otcompat.service"
	// Snippet is the nginx upstream block the hook puts into the stock nginx.conf.
	Snippet = Dir + "/nginx-upstream.conf"
	// GeneratedNginx is the stock nginx.conf with otcompat wired in, written
	// by the hook at every boot and bind mounted over NginxConf.
	GeneratedNginx = Dir + "/nginx.conf"
	// StockNginx is the copy of the stock nginx.conf taken at install
	// ("otcompat-boot record-stock"), and StockNginxSum its SHA-256 in
	// sha256sum's format. The hook wires nginx only while NginxConf still
	// has that SHA-256.
	StockNginx    = Dir + "/stock/nginx.conf"
	StockNginxSum = Dir + "/stock/nginx.conf.sha256"
	// BootLog holds the hook's last 200 lines (they also go to the journal,
	// under the boot-scripts service).
	BootLog = Dir + "/boot.log"

	// UnitName is the systemd unit, and RuntimeUnit where the hook puts it
	// (a tmpfs, emptied at every boot).
	UnitName    = "otcompat.service"
	RuntimeUnit = "/run/systemd/system/" + UnitName
	// NginxConf is the robot's stock nginx configuration, on the read-only
	// root file system.
	NginxConf = "/etc/nginx/nginx.conf"
	// Mounted exists while GeneratedNginx is bind mounted over NginxConf.
	Mounted = "/run/otcompat-boot.mounted"

	// BootEntry is the name of the hook's entry in the boot-scripts
	// directory: without a dot, which some run-parts skip.
	BootEntry = "otcompat"
	// BootDirOT2 is the OT-2's boot-scripts directory (/var/data/boot.d,
	// which /data is a bind mount of); the robot's "Boot Scripts" settings
	// reset deletes it.
	BootDirOT2 = "/data/boot.d"
	// BootDirFlex is the Flex's boot-scripts directory.
	BootDirFlex = "/var/user-packages/etc/boot.d"

	// RobotServerSocket is robot-server's socket, the backup upstream.
	RobotServerSocket = "/run/aiohttp.sock"
	// Socket is where otcompat listens for nginx.
	Socket = "/run/otcompat/otcompat.sock"
	// AdminAddr is otcompat's admin listener (/healthz, /readyz, /metrics).
	AdminAddr = "127.0.0.1:31961"
)

// File is one embedded file and where it goes on the robot.
type File struct {
	Name string // path in Robot
	Path string // path on the robot; for the boot entry, relative to the boot-scripts directory
	Mode uint32 // file mode bits
}

// Files lists every file of Robot with its place on the robot. The binary
// (Binary) and the stock record (StockNginx, StockNginxSum) are not among
// them: the first is sent separately, the hook makes the second.
var Files = []File{
	{Name: "robot/otcompat-boot", Path: Hook, Mode: 0o755},
	{Name: "robot/otcompat.service", Path: UnitFile, Mode: 0o644},
	{Name: "robot/otcompat.env", Path: EnvFile, Mode: 0o644},
	{Name: "robot/nginx-upstream.conf", Path: Snippet, Mode: 0o644},
	{Name: "robot/boot.d/otcompat", Path: BootEntry, Mode: 0o755},
}
