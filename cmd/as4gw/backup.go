package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/trust"
)

// minBackupToken is the shortest accepted backup token: it guards every message of
// every organisation, so a guessable one is refused at start and at reload.
const minBackupToken = 16

// readBackupToken reads operations.backup.tokenFile. The token is never logged.
func readBackupToken(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("operations.backup.tokenFile: %w", errors.Unwrap(err))
	}
	tok := strings.TrimSpace(string(data))
	if len(tok) < minBackupToken {
		return "", fmt.Errorf("operations.backup.tokenFile %s: the token has %d characters; use at least %d (e.g. openssl rand -hex 32)", file, len(tok), minBackupToken)
	}
	return tok, nil
}

// backupHandler is GET /backup on the operations listener: the store as a tar stream
// (store.BoltStore.Backup). It answers 404 unless operations.backup.enabled, and wants
// the token of operations.backup.tokenFile; both are read per request, so a reload
// turns it on or off and rotates the token. One backup at a time.
type backupHandler struct {
	st      *store.BoltStore
	cfg     func() *config.Config
	log     *slog.Logger
	running atomic.Bool
}

func (h *backupHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := h.cfg().Operations.Backup
	if !b.Enabled {
		http.Error(w, "backups are off: set operations.backup.enabled and reload the gateway", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "GET /backup", http.StatusMethodNotAllowed)
		return
	}
	want, err := readBackupToken(b.TokenFile)
	if err != nil {
		h.log.Error("backup refused: the token file is not usable", "error", err)
		http.Error(w, "the backup token is not configured properly; see the gateway's log", http.StatusServiceUnavailable)
		return
	}
	scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	ws, gs := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(strings.TrimSpace(got)))
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(ws[:], gs[:]) != 1 {
		h.log.Warn("backup refused: wrong or missing token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="as4gw-operations"`)
		http.Error(w, "send Authorization: Bearer <the token in operations.backup.tokenFile>", http.StatusUnauthorized)
		return
	}
	if !h.running.CompareAndSwap(false, true) {
		http.Error(w, "a backup is running already; try again when it has finished", http.StatusConflict)
		return
	}
	defer h.running.Store(false)
	start := time.Now()
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="as4gw-backup-%s.tar"`, start.UTC().Format("20060102T150405Z")))
	cw := &countingWriter{w: w}
	man, err := h.st.Backup(r.Context(), cw)
	if err != nil {
		// Once bytes are out the status is sent; the archive then lacks its manifest and
		// as4gw backup refuses it.
		if cw.n == 0 {
			http.Error(w, "the backup failed; see the gateway's log", http.StatusServiceUnavailable)
		}
		h.log.Error("backup failed", "remote", r.RemoteAddr, "bytes", cw.n, "error", err)
		return
	}
	h.log.Info("backup served", "remote", r.RemoteAddr, "messages", man.Messages, "payloadFiles", man.PayloadFiles,
		"bytes", cw.n, "duration", time.Since(start))
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newBackupCommand() *cobra.Command {
	var configFile, out, url, tokenFile string
	var force bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "backup --config FILE --out FILE",
		Short: "Take a consistent online backup of a running gateway",
		Long: `backup downloads a consistent snapshot of a running gateway's store (every message,
its history and its payload files, as of one moment) from GET /backup on the operations
listener named in --config, verifies it (every file's SHA-256 against the manifest, the
database opens and references only files in the archive) and writes it to --out
atomically. The gateway keeps working meanwhile.

The gateway must have operations.backup.enabled: true; the token comes from
operations.backup.tokenFile (or --token-file). Restore with "as4gw restore".

Exit status: 0 when the backup was written and verified, 1 when it failed, 2 for usage
errors.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configFile == "" || out == "" {
				return usageError(errors.New("--config and --out are required"))
			}
			cfg, err := config.Load(configFile)
			if err != nil {
				return usageError(err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			man, err := runBackup(ctx, cfg, out, url, tokenFile, force)
			if err != nil {
				return exitError{code: 1, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup of %d messages and %d payloads (%d inside the database; %d bytes of payloads, schema version %d, taken %s) written to %s and verified\n",
				man.Messages, man.PayloadFiles, man.InlinePayloads, man.PayloadBytes, man.SchemaVersion, man.Created.Format(time.RFC3339), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "the running gateway's configuration (required)")
	f.StringVar(&out, "out", "", "where to write the archive (required)")
	f.StringVar(&url, "url", "", "backup URL (default: http(s)://<listeners.operations.address>/backup)")
	f.StringVar(&tokenFile, "token-file", "", "token file (default: operations.backup.tokenFile)")
	f.BoolVar(&force, "force", false, "replace --out if it exists")
	f.DurationVar(&timeout, "timeout", 24*time.Hour, "give up after this long")
	return cmd
}

// runBackup downloads into a temporary file beside out, verifies it, fsyncs and renames.
func runBackup(ctx context.Context, cfg *config.Config, out, url, tokenFile string, force bool) (store.Manifest, error) {
	b := cfg.Operations.Backup
	if !b.Enabled && url == "" {
		return store.Manifest{}, errors.New("operations.backup.enabled is not true in the configuration: enable it and reload the gateway (SIGHUP)")
	}
	if tokenFile == "" {
		tokenFile = b.TokenFile
	}
	token, err := readBackupToken(tokenFile)
	if err != nil {
		return store.Manifest{}, err
	}
	if _, err := os.Stat(out); err == nil && !force {
		return store.Manifest{}, fmt.Errorf("%s exists; pass --force to replace it", out)
	}
	client, u, err := opsClient(cfg, url)
	if err != nil {
		return store.Manifest{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return store.Manifest{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return store.Manifest{}, fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return store.Manifest{}, fmt.Errorf("backup: %s answered %s: %s", u, resp.Status, bytes.TrimSpace(body))
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".as4gw-backup-*.tmp")
	if err != nil {
		return store.Manifest{}, err
	}
	defer os.Remove(tmp.Name()) // after the rename: a no-op
	defer tmp.Close()
	if _, err := io.Copy(tmp, resp.Body); err != nil {
		return store.Manifest{}, fmt.Errorf("backup: download from %s: %w", u, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return store.Manifest{}, err
	}
	man, err := store.VerifyBackup(tmp, filepath.Dir(out))
	if err != nil {
		return store.Manifest{}, fmt.Errorf("the downloaded backup does not verify, nothing was written to %s: %w", out, err)
	}
	if err := tmp.Sync(); err != nil {
		return store.Manifest{}, err
	}
	if err := tmp.Close(); err != nil {
		return store.Manifest{}, err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return store.Manifest{}, err
	}
	return man, syncDirectory(filepath.Dir(out))
}

// opsClient returns a client for the operations listener and the backup URL. A TLS
// listener is reached by pinning its own certificate (certFile): the address is often
// 127.0.0.1, which the certificate need not name.
func opsClient(cfg *config.Config, url string) (*http.Client, string, error) {
	l := cfg.Listeners.Operations
	client := &http.Client{}
	tlsOn := l.TLS.CertFile != ""
	if url == "" {
		host, port, err := net.SplitHostPort(l.Address)
		if err != nil {
			return nil, "", fmt.Errorf("listeners.operations.address: %w", err)
		}
		switch host {
		case "", "0.0.0.0":
			host = "127.0.0.1"
		case "::", "[::]":
			host = "::1"
		}
		scheme := "http"
		if tlsOn {
			scheme = "https"
		}
		url = scheme + "://" + net.JoinHostPort(host, port) + "/backup"
	}
	if tlsOn && strings.HasPrefix(url, "https://") {
		certs, err := trust.LoadCertificatesFile(l.TLS.CertFile)
		if err != nil || len(certs) == 0 {
			return nil, "", fmt.Errorf("listeners.operations.tls.certFile: %v", err)
		}
		leaf := certs[0].Raw
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, // replaced by the pin below
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 || !bytes.Equal(raw[0], leaf) {
					return errors.New("the operations listener presented a certificate other than listeners.operations.tls.certFile")
				}
				return nil
			},
		}}
	}
	return client, url, nil
}

func syncDirectory(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
