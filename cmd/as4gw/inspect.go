package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/as4gw/as4gw/as4/inspect"
	"github.com/as4gw/as4gw/trust"
)

func newInspectCommand() *cobra.Command {
	var (
		contentType string
		trustFile   string
		certFiles   []string
		keyFile     string
		atFlag      string
	)
	cmd := &cobra.Command{
		Use:   "inspect [flags] FILE|-",
		Short: "Explain a captured AS4 message: headers, signature, encryption, payloads",
		Long: `inspect reads a captured AS4 message and prints a JSON report: the ebMS headers,
each signature reference and its result, the signer certificate, the algorithms,
whether parts are encrypted, and per payload its MIME type, size and SHA-256 after
decryption and decompression.

The input may be a MIME body (give --content-type, or the boundary is taken from
the first line), a plain SOAP envelope, or a dump that starts with HTTP or MIME
headers. "-" reads standard input.

Exit status: 0 when every check that was possible with the given inputs passed,
1 when a check failed, 2 for usage errors.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := inspect.Options{ContentType: contentType}
			if atFlag != "" {
				at, err := time.Parse(time.RFC3339, atFlag)
				if err != nil {
					return usageError(fmt.Errorf("--at %q: want an RFC 3339 time such as 2022-03-07T12:00:00Z", atFlag))
				}
				opts.At = at
			}
			if trustFile != "" {
				store := trust.NewStore()
				if err := store.AddAnchorsFile(trustFile); err != nil {
					return usageError(fmt.Errorf("--trust: %w", err))
				}
				opts.Trust = store
			}
			for _, f := range certFiles {
				certs, err := trust.LoadCertificatesFile(f)
				if err != nil {
					return usageError(fmt.Errorf("--cert %s: %w", f, err))
				}
				opts.Certificates = append(opts.Certificates, certs...)
			}
			if keyFile != "" {
				data, err := os.ReadFile(keyFile)
				if err != nil {
					return usageError(fmt.Errorf("--key: %w", err))
				}
				key, err := trust.ParsePrivateKeyPEM(data, os.Getenv("AS4GW_KEY_PASSWORD"))
				if err != nil {
					return usageError(fmt.Errorf("--key %s: %w", keyFile, err))
				}
				opts.Key = key
			}
			in, closeIn, err := openInput(cmd, args[0])
			if err != nil {
				return usageError(err)
			}
			defer closeIn()
			rep, err := inspect.Inspect(in, opts)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
			if !rep.OK {
				return exitError{code: 1, err: errors.New("at least one check failed (see \"checks\" in the report)")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&contentType, "content-type", "", "Content-Type of the body when the capture has no headers")
	f.StringVar(&trustFile, "trust", "", "PEM bundle of trusted certificates; without it trust is not checked")
	f.StringArrayVar(&certFiles, "cert", nil, "certificates (PEM or DER) for IssuerSerial/SKI references and for --key; repeatable")
	f.StringVar(&keyFile, "key", "", "PEM private key to decrypt attachments (password, if any, from AS4GW_KEY_PASSWORD)")
	f.StringVar(&atFlag, "at", "", "verification time (RFC 3339); default now")
	return cmd
}

func openInput(cmd *cobra.Command, name string) (io.Reader, func(), error) {
	if name == "-" {
		return cmd.InOrStdin(), func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// usageArgs makes argument-count errors usage errors (exit status 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError(err)
		}
		return nil
	}
}

// usageError marks a problem with the command line (exit status 2).
func usageError(err error) error { return exitError{code: 2, err: err} }
