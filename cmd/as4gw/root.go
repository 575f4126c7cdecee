package main

import (
	"github.com/spf13/cobra"
)

// exitError carries a process exit status chosen by a subcommand, e.g. inspect's
// "1 = a check failed, 2 = usage error" contract.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "as4gw",
		Short: "as4gw is an AS4 / ebMS 3.0 access point",
		Long: "as4gw is an AS4 / ebMS 3.0 access point (accesspunkt): it exchanges signed and\n" +
			"encrypted messages with other access points and offers message services a REST API.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand(), newInspectCommand(), newServeCommand(), newDevpairCommand(), newPModeCommand(), newHealthcheckCommand(), newSendCommand(), newBackupCommand(), newRestoreCommand())
	// Flag and argument errors are usage errors: exit status 2.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	return root
}
