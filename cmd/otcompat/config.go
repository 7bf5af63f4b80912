package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"otcompat/config"
	"otcompat/proxy"
)

// exampleConfig is what `otcompat config example` prints; a test keeps it
// passing `config check` and naming every key.
//
//go:embed config_example.yaml
var exampleConfig string

// reloadable are the keys a SIGHUP applies; every other key needs a restart
// (listeners, upstream, limits and logging are set up once).
var reloadable = []string{"badrun-version", "badrun-policy"}

// newServeFlags returns fresh options on a flag set like serve's, holding
// the defaults.
func newServeFlags() *proxyOptions {
	o := new(proxyOptions)
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SortFlags = false
	o.registerServe(fs)
	return o
}

// fileKey reports whether a flag has a key in the configuration file:
// every flag of serve but --config.
func fileKey(name string) bool { return name != "config" && name != "help" }

// configSchema checks each flag-named key as its flag is checked, so the
// command line and the file accept the same values.
var configSchema = func() *config.Schema {
	s := &config.Schema{Settings: map[string]func(string) error{}}
	newServeFlags().flags.VisitAll(func(f *pflag.Flag) {
		if fileKey(f.Name) {
			name := f.Name
			s.Settings[name] = func(value string) error { return checkSetting(name, value) }
		}
	})
	return s
}()

// checkSetting checks one key's value on otherwise default options: an
// error is about that value alone.
func checkSetting(name, value string) error {
	o := newServeFlags()
	f := o.flags.Lookup(name)
	if err := f.Value.Set(value); err != nil {
		switch f.Value.Type() {
		case "bool":
			return fmt.Errorf("%s %q: want true or false", name, value)
		case "int64":
			return fmt.Errorf("%s %q: want an integer", name, value)
		case "duration":
			return fmt.Errorf("%s %q: want a duration such as 30s or 2m", name, value)
		}
		return fmt.Errorf("%s %q: %v", name, value, err)
	}
	if name == "upstream" {
		if _, err := proxy.ParseUpstream(value); err != nil {
			return err // it names the upstream
		}
	}
	if err := o.validate(); err != nil {
		// validate names the flag as --name; the file names it as a key.
		return errors.New(strings.Replace(err.Error(), "--"+name, name, 1))
	}
	return nil
}

// loadConfig reads --config, if given, into the flags the command line and
// the environment left unset, and remembers which those were for reloads.
func (o *proxyOptions) loadConfig() (*config.File, error) {
	o.explicit = map[string]string{}
	o.flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			o.explicit[f.Name] = f.Value.String()
		}
	})
	if o.configPath == "" {
		return nil, nil
	}
	file, err := loadConfigFile(o.configPath)
	if err != nil {
		return nil, err
	}
	o.applyFile(file)
	return file, nil
}

// loadConfigFile loads path; its error is a config.Errors (the file's
// problems, each naming its place), or says the file could not be read.
func loadConfigFile(path string) (*config.File, error) {
	file, err := configSchema.Load(path)
	var es config.Errors
	if err != nil && !errors.As(err, &es) {
		return nil, fmt.Errorf("configuration file: %v", err)
	}
	return file, err
}

// applyFile sets each flag the file names and the command line and the
// environment did not: a flag beats its variable, both beat the file.
func (o *proxyOptions) applyFile(file *config.File) {
	o.declared = file.Changes
	for name, s := range file.Settings {
		f := o.flags.Lookup(name)
		if _, explicit := o.explicit[name]; explicit || f == nil {
			continue // a flag or variable set it; or demo, which has no upstream
		}
		// The schema checked the value with this flag's own Set.
		_ = f.Value.Set(s.Value)
		f.Changed = true
	}
}

// reloaded builds the options a reload of file gives: the command line's
// and environment's values, then the file's.
func (o *proxyOptions) reloaded(file *config.File) (*proxyOptions, error) {
	next := newServeFlags()
	next.explicit = o.explicit
	for name, v := range o.explicit {
		if f := next.flags.Lookup(name); f != nil {
			if err := f.Value.Set(v); err != nil {
				return nil, fmt.Errorf("--%s: %v", name, err)
			}
		}
	}
	next.applyFile(file)
	if err := next.validate(); err != nil {
		return nil, err
	}
	return next, nil
}

// reloadOnHangup reloads the configuration file on each SIGHUP until stop.
func (o *proxyOptions) reloadOnHangup(p *proxy.Proxy, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				o.reload(p, log)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}

// reload applies the configuration file again. A file that does not pass
// is refused whole: the running configuration stays.
func (o *proxyOptions) reload(p *proxy.Proxy, log *slog.Logger) {
	if o.configPath == "" {
		log.Warn("SIGHUP ignored: no --config file to reload")
		return
	}
	next, file, err := o.reloadFile()
	p.CountReload(err)
	if err != nil {
		log.Error("configuration reload refused; the running configuration stays", "config", o.configPath, "err", err)
		return
	}
	chain, _ := next.chain() // validate passed
	p.SetSettings(&proxy.Settings{Chain: chain, Clients: file.Rules()})
	log.Info("configuration reloaded", "config", o.configPath, "client_rules", file.Rules().Len(),
		"badrun_version", next.badrunVersion, "badrun_policy", next.badrunPolicy)
	if keys := o.restartNeeded(next); len(keys) > 0 {
		log.Warn("configuration changed keys that take effect only after a restart; still serving with the old values",
			"keys", strings.Join(keys, ","))
	}
}

func (o *proxyOptions) reloadFile() (*proxyOptions, *config.File, error) {
	file, err := loadConfigFile(o.configPath)
	if err != nil {
		return nil, nil, err
	}
	next, err := o.reloaded(file)
	return next, file, err
}

// restartNeeded lists the keys whose value next changes that a reload
// cannot apply.
func (o *proxyOptions) restartNeeded(next *proxyOptions) []string {
	var keys []string
	o.flags.VisitAll(func(f *pflag.Flag) {
		if !fileKey(f.Name) || slices.Contains(reloadable, f.Name) {
			return
		}
		if g := next.flags.Lookup(f.Name); g != nil && g.Value.String() != f.Value.String() {
			keys = append(keys, f.Name)
		}
	})
	return keys
}

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Check a configuration file, or print an example"}
	c.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "List every problem of FILE (exit 2), or print the configuration it gives (exit 0)",
		Long: `check reads FILE as serve --config would. With problems, it lists every one as
file:line:column: message on stderr and exits 2. Otherwise it prints the
configuration FILE gives, every key with the defaults filled in, and exits 0;
flags and OTCOMPAT_ variables given to serve would still beat it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return checkConfig(args[0], c.OutOrStdout(), c.ErrOrStderr())
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print a commented example configuration file",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := io.WriteString(c.OutOrStdout(), exampleConfig)
			return failed(err)
		},
	})
	return c
}

func checkConfig(path string, stdout, stderr io.Writer) error {
	file, err := loadConfigFile(path)
	var es config.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(stderr, e)
		}
		return fmt.Errorf("config check: %s: %d problem(s)", path, len(es))
	}
	if err != nil {
		return err
	}
	o := newServeFlags()
	o.explicit = map[string]string{}
	o.applyFile(file)
	var values []config.Value
	o.flags.VisitAll(func(f *pflag.Flag) {
		if fileKey(f.Name) && !(f.Name == "upstream" && f.Value.String() == "") { // no upstream: serve needs --upstream
			t := f.Value.Type()
			values = append(values, config.Value{Key: f.Name, Value: f.Value.String(), Literal: t == "bool" || t == "int64"})
		}
	})
	out, err := config.Render(values, file.Rules())
	if err != nil {
		return failed(err)
	}
	changes, err := config.RenderChanges(file.Changes)
	if err != nil {
		return failed(err)
	}
	out = append(out, changes...)
	_, err = stdout.Write(out)
	return failed(err)
}
