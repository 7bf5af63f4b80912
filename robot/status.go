package robot

import (
	"context"
	"fmt"
	"strings"

	"otcompat/deploy"
)

// Status reports on the robot: the installed otcompat's version, whether
// nginx routes through it (a request as an old client, and the boot hook's
// own view), and otcompat's /readyz. It returns an error, after the
// report, when otcompat is not installed or not serving.
func Status(ctx context.Context, o Options) error {
	c, err := Dial(ctx, o.Target)
	if err != nil {
		return err
	}
	defer c.Close()
	ok, err := c.exists(ctx, deploy.Binary)
	if err != nil {
		return err
	}
	if !ok {
		o.say("otcompat: not installed (no %s)", deploy.Binary)
		r, err := c.route(ctx, o.API)
		if err == nil {
			o.say("nginx: answers %s without otcompat", r.status)
		}
		return fmt.Errorf("otcompat is not installed on %s", o.Host)
	}
	var problems []string
	if out, err := c.run(ctx, quote(c.path(deploy.Binary))+" version", nil); err != nil {
		o.say("version: %v", err)
		problems = append(problems, "the binary does not run")
	} else {
		o.say("version: %s", strings.TrimSpace(string(out)))
	}
	if r, err := c.route(ctx, o.API); err != nil {
		o.say("nginx: %v", err)
		problems = append(problems, "nginx does not answer")
	} else if r.throughOtcompat {
		o.say("nginx: routes through otcompat (GET /health as version 2: %s, served version %s)", r.status, r.served)
	} else {
		o.say("nginx: does not route through otcompat (GET /health as version 2: %s, without Otcompat-* headers)", r.status)
		problems = append(problems, "nginx bypasses otcompat")
	}
	if out, err := c.run(ctx, c.hookCmd("status"), nil); err == nil {
		o.say("boot hook: %s", strings.TrimSpace(string(out)))
	} else {
		o.say("boot hook: %v", err)
	}
	if line, err := c.healthcheck(ctx, o.Admin, "/readyz"); err != nil {
		o.say("readyz: not ready: %v", err)
		problems = append(problems, "otcompat is not ready")
	} else {
		o.say("readyz: ready (%s)", line)
	}
	if len(problems) > 0 {
		return fmt.Errorf("otcompat on %s: %s", o.Host, strings.Join(problems, ", "))
	}
	return nil
}
