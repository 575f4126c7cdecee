package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/store"
)

func newRestoreCommand() *cobra.Command {
	var configFile, in string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore --config FILE --in FILE [--force]",
		Short: "Restore a stopped gateway's store from a backup",
		Long: `restore verifies an archive made by "as4gw backup" (every file's SHA-256, the
database) and installs it as the store in the dataDir of --config. The gateway must be
stopped: restore refuses while the store is locked by a running gateway.

An existing, non-empty store is replaced only with --force, and is then kept beside the
restored one as store.replaced-<time> (delete it once the gateway runs well). Nothing
in the dataDir changes unless the archive verifies.

After a restore, messages the partners or backends sent after the backup was taken are
not in the store: partners resend what they got no receipt for, and backends see the
state as of the backup.

Exit status: 0 when restored, 1 when refused or failed, 2 for usage errors.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configFile == "" || in == "" {
				return usageError(errors.New("--config and --in are required"))
			}
			cfg, err := config.Load(configFile)
			if err != nil {
				return usageError(err)
			}
			man, replaced, err := runRestore(cfg.DataDir, in, force)
			if err != nil {
				return exitError{code: 1, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %d messages and %d payloads (backup of %s, schema version %d) into %s\n",
				man.Messages, man.PayloadFiles, man.Created.Format(time.RFC3339), man.SchemaVersion, filepath.Join(cfg.DataDir, "store"))
			if replaced != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "the store it replaced is kept in %s\n", replaced)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "the gateway's configuration (required)")
	f.StringVar(&in, "in", "", "the archive written by as4gw backup (required)")
	f.BoolVar(&force, "force", false, "replace an existing, non-empty store (it is kept as store.replaced-<time>)")
	return cmd
}

// runRestore extracts the archive into a staging directory beside the store (same
// filesystem), verifying as it goes, and swaps it in with renames only when it verified.
func runRestore(dataDir, in string, force bool) (store.Manifest, string, error) {
	storeDir := filepath.Join(dataDir, "store")
	if err := checkStopped(storeDir); err != nil {
		return store.Manifest{}, "", err
	}
	entries, err := os.ReadDir(storeDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return store.Manifest{}, "", err
	}
	exists := err == nil
	if len(entries) > 0 && !force {
		return store.Manifest{}, "", fmt.Errorf("%s is not empty: pass --force to replace it (it is then kept as store.replaced-<time>)", storeDir)
	}
	f, err := os.Open(in)
	if err != nil {
		return store.Manifest{}, "", err
	}
	defer f.Close()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return store.Manifest{}, "", err
	}
	staging := filepath.Join(dataDir, "store.restoring")
	if err := os.RemoveAll(staging); err != nil { // left by an interrupted restore
		return store.Manifest{}, "", err
	}
	man, err := store.ReadBackup(f, staging)
	if err != nil {
		os.RemoveAll(staging)
		return store.Manifest{}, "", fmt.Errorf("%s does not verify, nothing was changed: %w", in, err)
	}
	replaced := ""
	if exists {
		if len(entries) > 0 {
			replaced = filepath.Join(dataDir, "store.replaced-"+time.Now().UTC().Format("20060102T150405Z"))
			err = os.Rename(storeDir, replaced)
		} else {
			err = os.Remove(storeDir)
		}
		if err != nil {
			os.RemoveAll(staging)
			return store.Manifest{}, "", err
		}
	}
	if err := os.Rename(staging, storeDir); err != nil {
		return store.Manifest{}, replaced, fmt.Errorf("installing the restored store: %w (the verified copy is in %s)", err, staging)
	}
	return man, replaced, syncDirectory(dataDir)
}

// checkStopped refuses when a gateway holds the store's database lock.
func checkStopped(storeDir string) error {
	path := filepath.Join(storeDir, store.DBFileName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("%s is locked by a running gateway: stop it first (systemctl stop as4gw), then restore", path)
	}
	if err != nil {
		// A damaged database is what a restore is for: it does not stop the restore.
		return nil
	}
	return db.Close()
}
