package robot

import (
	"context"
	"fmt"
	"strings"

	"otcompat/deploy"
)

// Uninstall takes otcompat off the robot: the boot hook's stop (nginx back
// to its stock configuration, the unit stopped and removed), then every
// file and directory install made. The robot is then as it was before.
func Uninstall(ctx context.Context, o Options) error {
	c, err := Dial(ctx, o.Target)
	if err != nil {
		return err
	}
	defer c.Close()
	ok, err := c.exists(ctx, deploy.Dir)
	if err != nil {
		return err
	}
	if !ok {
		o.say("otcompat is not installed on %s (no %s): nothing to do", o.Host, deploy.Dir)
		return nil
	}
	if err := c.uninstall(ctx, o); err != nil {
		return err
	}
	o.say("otcompat removed from %s: nginx serves robot-server directly again", o.Host)
	return nil
}

// uninstall undoes install, or as much of it as was done. It stops at the
// first failure so that nothing is deleted while still in use (a file
// still bind mounted over nginx.conf, say).
func (c *Conn) uninstall(ctx context.Context, o Options) error {
	hook, err := c.exists(ctx, deploy.Hook)
	if err != nil {
		return err
	}
	if hook {
		if err := c.hook(ctx, o, "stop"); err != nil {
			return fmt.Errorf("%v; otcompat's files stay in place, run otcompat robot uninstall again once that is fixed", err)
		}
	}
	out, err := c.run(ctx, "cat "+quote(c.path(createdRecord))+" 2>/dev/null || true", nil)
	if err != nil {
		return err
	}
	cmd := "rm -f"
	for _, d := range []string{deploy.BootDirOT2, deploy.BootDirFlex} {
		cmd += " " + quote(c.path(d+"/"+deploy.BootEntry))
	}
	cmd += " && rm -rf " + quote(c.path(deploy.Dir))
	if _, err := c.run(ctx, cmd, nil); err != nil {
		return err
	}
	// Directories install created go too, deepest first, unless something
	// else was put there since.
	created := strings.Fields(string(out))
	for i := len(created) - 1; i >= 0; i-- {
		if _, err := c.run(ctx, "rmdir "+quote(c.path(created[i])), nil); err != nil {
			o.say("kept %s: %v", created[i], err)
		}
	}
	return nil
}
