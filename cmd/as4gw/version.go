package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at link time by release builds:
// go build -ldflags "-X main.version=v1.2.3" ./cmd/as4gw
var version = ""

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the as4gw version and build information",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			writeVersion(cmd.OutOrStdout())
			return nil
		},
	}
}

func writeVersion(w io.Writer) {
	v, revision, modified := buildVersion()
	fmt.Fprintf(w, "as4gw %s\n", v)
	if revision != "" {
		dirty := ""
		if modified {
			dirty = " (modified)"
		}
		fmt.Fprintf(w, "commit %s%s\n", revision, dirty)
	}
	fmt.Fprintf(w, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// buildVersion prefers the link-time version, then the module version (set by
// "go install module@version"), then "devel".
func buildVersion() (v, revision string, modified bool) {
	v = version
	info, ok := debug.ReadBuildInfo()
	if ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	return v, revision, modified
}
