// Package robot puts otcompat on an Opentrons robot over SSH, reports on it
// and takes it off again (the `otcompat robot` commands).
//
// Everything happens through one SSH connection (golang.org/x/crypto/ssh):
// commands run in sessions, files go over SFTP (github.com/pkg/sftp) where the
// robot has an SFTP server and through a session's standard input otherwise,
// and HTTP requests to the robot's own loopback ports go through the
// connection as direct-tcpip channels, so they start on the robot.
package robot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Target says which robot to reach and how to log in.
type Target struct {
	Host string
	Port int
	// User logs in; an OT-2 and a Flex take root with a key.
	User string
	// Identity is a private key file. Empty: the keys of ssh-agent
	// (SSH_AUTH_SOCK) and ~/.ssh/id_ed25519, id_ecdsa, id_rsa, as ssh does.
	Identity string
	// KnownHosts is the known_hosts file the robot's host key must be in.
	KnownHosts string
	// InsecureIgnoreHostKey accepts any host key (first contact, or a robot
	// whose key changed with a reflash).
	InsecureIgnoreHostKey bool
	// Timeout bounds connecting and logging in.
	Timeout time.Duration
	// Root is prefixed to every robot path. It is empty on a real robot;
	// tests point it at a directory that stands for the robot's /.
	Root string
}

// addr is host:port.
func (t Target) addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

func (t Target) String() string { return t.User + "@" + t.addr() }

// Conn is a logged-in SSH connection to a robot.
type Conn struct {
	t      Target
	client *ssh.Client
	// files is nil when the robot has no SFTP server: an OT-2 runs dropbear,
	// which has none of its own.
	files *sftp.Client
}

// Dial connects and logs in. Its errors are one line naming the cause.
func Dial(ctx context.Context, t Target) (*Conn, error) {
	if t.Host == "" {
		return nil, errors.New("--host is required: the robot's address, as in --host 192.168.1.50")
	}
	auth, names, err := authMethods(t.Identity)
	if err != nil {
		return nil, err
	}
	hostKey, err := hostKeyCallback(t)
	if err != nil {
		return nil, err
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{}
	nc, err := d.DialContext(ctx, "tcp", t.addr())
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %v", t.addr(), dialCause(err))
	}
	// The handshake has no context of its own: the deadline bounds it.
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	cfg := &ssh.ClientConfig{User: t.User, Auth: auth, HostKeyCallback: hostKey, Timeout: timeout}
	sc, chans, reqs, err := ssh.NewClientConn(nc, t.addr(), cfg)
	if err != nil {
		nc.Close()
		var ke *hostKeyError
		switch {
		case errors.As(err, &ke):
			return nil, ke
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fmt.Errorf("%s refused the login with %s: is its public key on the robot (the Opentrons App's SSH key setup, or /root/.ssh/authorized_keys)?", t, names)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: no SSH answer within %v", t.addr(), timeout)
		}
		return nil, fmt.Errorf("%s: SSH: %v", t.addr(), err)
	}
	_ = nc.SetDeadline(time.Time{})
	c := &Conn{t: t, client: ssh.NewClient(sc, chans, reqs)}
	// No SFTP server is fine: files then go through a session's stdin.
	if fc, err := sftp.NewClient(c.client); err == nil {
		c.files = fc
	}
	return c, nil
}

// Close ends the connection.
func (c *Conn) Close() error {
	if c.files != nil {
		c.files.Close()
	}
	return c.client.Close()
}

// dialCause is the part of a dial error a person can act on.
func dialCause(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("no answer (wrong address, or the robot is off the network?)")
	}
	return err
}

// authMethods are the keys to offer, and how to name them in an error.
func authMethods(identity string) ([]ssh.AuthMethod, string, error) {
	if identity != "" {
		s, err := loadKey(identity)
		if err != nil {
			return nil, "", err
		}
		return []ssh.AuthMethod{ssh.PublicKeys(s)}, "key " + identity, nil
	}
	var methods []ssh.AuthMethod
	var names []string
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if ac, err := net.Dial("unix", sock); err == nil {
			methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(ac).Signers))
			names = append(names, "ssh-agent's keys")
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		var signers []ssh.Signer
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			p := filepath.Join(home, ".ssh", n)
			if s, err := loadKey(p); err == nil {
				signers = append(signers, s)
				names = append(names, p)
			}
		}
		if len(signers) > 0 {
			methods = append(methods, ssh.PublicKeys(signers...))
		}
	}
	if len(methods) == 0 {
		return nil, "", errors.New("no SSH key: give --identity KEY (the private key whose public half is on the robot), or load it into ssh-agent")
	}
	return methods, strings.Join(names, ", "), nil
}

// loadKey reads an unencrypted private key file.
func loadKey(p string) (ssh.Signer, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("--identity: %v", err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return nil, fmt.Errorf("--identity %s: the key has a passphrase: add it to ssh-agent (ssh-add %s) and leave out --identity", p, p)
		}
		return nil, fmt.Errorf("--identity %s: not a private key: %v", p, err)
	}
	return s, nil
}

// hostKeyError is a host key that is not in known_hosts, or differs from it.
type hostKeyError struct {
	t                 Target
	file, fingerprint string
	changed           bool
}

func (e *hostKeyError) Error() string {
	if e.changed {
		return fmt.Sprintf("host key of %s (%s) differs from the one in %s: if the robot was reflashed, remove its line there (ssh-keygen -f %s -R %s); otherwise someone may be in between", e.t.addr(), e.fingerprint, e.file, e.file, quote(knownhosts.Normalize(e.t.addr())))
	}
	return fmt.Sprintf("host key of %s (%s) is not in %s: add it (ssh-keyscan -p %d %s >> %s) once you trust it, or pass --insecure-ignore-host-key", e.t.addr(), e.fingerprint, e.file, e.t.Port, e.t.Host, e.file)
}

// hostKeyCallback checks the robot's host key against t.KnownHosts, where a
// missing file knows no hosts.
func hostKeyCallback(t Target) (ssh.HostKeyCallback, error) {
	if t.InsecureIgnoreHostKey {
		return ssh.InsecureIgnoreHostKey(), nil
	}
	if t.KnownHosts == "" {
		return nil, errors.New("--known-hosts is empty: name a known_hosts file, or pass --insecure-ignore-host-key")
	}
	var check ssh.HostKeyCallback
	if _, err := os.Stat(t.KnownHosts); err == nil {
		check, err = knownhosts.New(t.KnownHosts)
		if err != nil {
			return nil, fmt.Errorf("--known-hosts: %v", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--known-hosts: %v", err)
	}
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		e := &hostKeyError{t: t, file: t.KnownHosts, fingerprint: key.Type() + " " + ssh.FingerprintSHA256(key)}
		if check == nil {
			return e
		}
		err := check(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			e.changed = len(ke.Want) > 0
			return e
		}
		return err
	}, nil
}

// path is p (a robot path, absolute) under the target's root.
func (c *Conn) path(p string) string {
	if c.t.Root == "" {
		return p
	}
	return path.Join(c.t.Root, p)
}

// remoteError is a command that failed on the robot.
type remoteError struct {
	cmd    string
	status int
	stderr string
}

func (e *remoteError) Error() string {
	msg := fmt.Sprintf("on the robot, %s exited %d", e.cmd, e.status)
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

// commandTimeout bounds one command on the robot, so that a robot that
// stops answering ends the command with an error instead of a hang. The
// longest is sending the binary through cat, a few MB/s over Wi-Fi.
const commandTimeout = 5 * time.Minute

// run runs a shell command on the robot with stdin as its input and returns
// its standard output. A non-zero exit is a *remoteError carrying the last
// line of standard error.
func (c *Conn) run(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	s, err := c.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("%s: SSH session: %v", c.t.addr(), err)
	}
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr, s.Stdin = &out, &errb, stdin
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		return nil, fmt.Errorf("on the robot, %s: %v", firstWord(cmd), ctx.Err())
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return out.Bytes(), &remoteError{cmd: firstWord(cmd), status: ee.ExitStatus(), stderr: lastLine(errb.String())}
	}
	if err != nil {
		return nil, fmt.Errorf("on the robot, %s: %v", firstWord(cmd), err)
	}
	return out.Bytes(), nil
}

// firstWord names a command in an error without its arguments.
func firstWord(cmd string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(cmd), " ")
	return strings.Trim(w, "'")
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// quote makes s one word for the robot's POSIX shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// put writes r to the robot file p (a full path, already under the root)
// with the given mode.
func (c *Conn) put(ctx context.Context, p string, r io.Reader, mode os.FileMode) error {
	if c.files == nil {
		_, err := c.run(ctx, fmt.Sprintf("cat > %s && chmod %o %s", quote(p), mode.Perm(), quote(p)), r)
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	fc := c.files
	done := make(chan error, 1)
	go func() { done <- sftpPut(fc, p, r, mode) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("on the robot, writing %s: %v", p, err)
		}
		return nil
	case <-ctx.Done():
		// Closing the client ends the transfer; later files go through cat.
		fc.Close()
		c.files = nil
		<-done
		return fmt.Errorf("on the robot, writing %s: %v", p, ctx.Err())
	}
}

func sftpPut(fc *sftp.Client, p string, r io.Reader, mode os.FileMode) error {
	f, err := fc.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return fc.Chmod(p, mode)
}

// dialRobot opens a TCP connection from the robot to addr (host:port as
// the robot sees it), through the SSH connection.
func (c *Conn) dialRobot(ctx context.Context, addr string) (net.Conn, error) {
	conn, err := c.client.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("through SSH to the robot's %s: %v (is TCP forwarding allowed on the robot?)", addr, err)
	}
	return conn, nil
}
