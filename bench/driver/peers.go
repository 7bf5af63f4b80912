package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// isReference says whether target passes every body through untouched and
// so is measured with a new client only: the upstream itself, nginx, Caddy.
func isReference(target string) bool {
	return target == "upstream" || target == "nginx" || target == "caddy"
}

// isPeer says whether target is one otcompat's targets are measured
// against: its rows run even when -rows leaves them out.
func isPeer(target string) bool {
	return target == "nginx" || target == "caddy" || target == "njs" || target == "naive"
}

// caddyfile is Caddy as a plain pass-through reverse proxy, tuned like
// bench/nginx.conf to be a strong reference: no admin endpoint, no
// automatic HTTPS, warnings only in its log, streaming (reverse_proxy's
// default), up to 64 idle keep-alive connections to the upstream (nginx's
// keepalive 64; Go's default of 2 would reconnect on most requests) and a
// 64 KiB read buffer from it (nginx's 64k buffers; the default 4 KiB takes
// many reads for a 57 KB list).
func caddyfile(listen, upstream string) string {
	host, port, _ := strings.Cut(listen, ":")
	return fmt.Sprintf(`{
	admin off
	auto_https off
	log {
		level WARN
	}
}

http://%s:%s {
	bind %s
	reverse_proxy %s {
		transport http {
			keepalive 2m
			keepalive_idle_conns 64
			keepalive_idle_conns_per_host 64
			read_buffer 64KiB
		}
	}
}
`, host, port, host, upstream)
}

// startCaddy starts Caddy in front of upstream with a Caddyfile written to
// its own folder, which also holds Caddy's data and config folders.
func (d *driver) startCaddy(upstream string, i int) (string, *proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	name := "caddy-" + strconv.Itoa(i)
	dir := filepath.Join(d.cfg.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(caddyfile(addr, upstream)), 0o644); err != nil {
		return "", nil, err
	}
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	p, err := d.startProcEnv(name, d.cfg.pinProxy, env, "caddy", "run", "--config", conf, "--adapter", "caddyfile")
	return addr, p, err
}
