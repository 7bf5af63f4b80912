package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// qaProc is a running otcompat command other than serve (record, replay,
// fixtures serve), listening on a Unix socket.
type qaProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	log    *tailBuffer
	done   chan struct{}
	exit   error
	sock   string // the socket path; the flag value is "unix:" + sock
	client *http.Client
}

// qaStart runs `otcompat args... --listen unix:<sock>` and waits until the
// socket takes connections.
func qaStart(t *testing.T, args ...string) *qaProc {
	t.Helper()
	p := &qaProc{t: t, log: &tailBuffer{max: 256 << 10}, done: make(chan struct{}),
		sock: filepath.Join(shortTempDir(t), "otcompat.sock")}
	p.cmd = otcompatCmd(context.Background(), append(args, "--listen", "unix:"+p.sock)...)
	p.cmd.Env = cleanEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.exit = p.cmd.Wait()
		notePeakRSS(p.cmd)
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("otcompat %s log:\n%s", args[0], p.log)
		}
	})
	p.client = newClient(t, "unix", p.sock)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case <-p.done:
			t.Fatalf("otcompat %s exited before listening: %v\n%s", strings.Join(args, " "), p.exit, p.log)
		default:
		}
		if c, err := net.Dial("unix", p.sock); err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("otcompat %s did not listen within 10s\n%s", args[0], p.log)
		}
	}
}

// flag is the address to give other commands, as in --upstream.
func (p *qaProc) flag() string { return "unix:" + p.sock }

func (p *qaProc) get(t *testing.T, path, version string) (*http.Response, []byte) {
	t.Helper()
	return doRequest(t, p.client, http.MethodGet, "http://otcompat"+path, version, nil)
}

// stop sends sig and returns the exit status.
func (p *qaProc) stop(sig syscall.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.t.Fatalf("still running 15s after %v", sig)
	}
	var ee *exec.ExitError
	if errors.As(p.exit, &ee) {
		return ee.ExitCode()
	}
	return 0
}

// qaRun runs `otcompat args...` to its end: exit status, stdout, stderr.
func qaRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := otcompatCmd(ctx, args...)
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	notePeakRSS(cmd)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatalf("otcompat %s: %v", strings.Join(args, " "), err)
	}
	return 0, stdout.String(), stderr.String()
}
