package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/as4gw/as4gw/config"
)

func newPModeCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "pmode", Short: "Work with P-Modes"}
	var configFile string
	check := &cobra.Command{
		Use:   "check --config FILE",
		Short: "Validate a configuration and its P-Modes, explaining every problem",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configFile == "" {
				return usageError(fmt.Errorf("--config is required"))
			}
			cfg, err := config.Load(configFile)
			if err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), err)
				return exitError{code: 1, err: fmt.Errorf("%s is not valid", configFile)}
			}
			if err := cfg.PModes.ResolveCertificates(""); err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), "pmodes:", err)
				return exitError{code: 1, err: fmt.Errorf("%s: a partner certificate cannot be read", configFile)}
			}
			if _, err := cfg.LoadIdentity(); err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), err)
				return exitError{code: 1, err: fmt.Errorf("%s: the identity cannot be loaded", configFile)}
			}
			if _, err := buildTrust(cfg, slog.New(slog.DiscardHandler)); err != nil { // tls.go: all three stores and the TLS client key
				fmt.Fprintln(cmd.OutOrStdout(), err)
				return exitError{code: 1, err: fmt.Errorf("%s: the trust store cannot be loaded", configFile)}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s is valid: party %s, %d partner(s), %d leg(s)\n", configFile, cfg.Identity.PartyID, len(cfg.PModes.Parties)-1, len(cfg.PModes.Legs))
			for _, l := range cfg.PModes.Legs {
				fmt.Fprintf(out, "  leg %s: service %s, action %s, sign=%v encrypt=%v compress=%v retry=%s\n",
					l.Name, l.Service.Value, l.Action, l.Security.Sign, l.Security.Encrypt, l.Compression, l.Reliability.Retry)
			}
			return nil
		},
	}
	check.Flags().StringVar(&configFile, "config", "", "gateway configuration (YAML)")
	cmd.AddCommand(check)
	return cmd
}
