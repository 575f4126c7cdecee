package config

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"

	"github.com/as4gw/as4gw/trust"
)

// ResolvePaths makes every relative file path in the configuration relative
// to baseDir (the directory of the configuration file), so a gateway can be
// started from anywhere.
func (c *Config) ResolvePaths(baseDir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(baseDir, *p)
		}
	}
	abs(&c.DataDir)
	for _, l := range []*Listener{&c.Listeners.AS4, &c.Listeners.Backend, &c.Listeners.Operations} {
		abs(&l.TLS.CertFile)
		abs(&l.TLS.KeyFile)
		abs(&l.TLS.ClientCAFile)
	}
	id := &c.Identity
	abs(&id.PKCS12File)
	abs(&id.KeyFile)
	abs(&id.CertFile)
	abs(&id.PasswordFile)
	for i := range id.TrustFiles {
		abs(&id.TrustFiles[i])
	}
	c.resolveTrustPaths(baseDir)
	for i := range c.PModes.Parties {
		abs(&c.PModes.Parties[i].CertificateFile)
	}
	abs(&c.Operations.Backup.TokenFile)
	for i := range c.Discovery.Static {
		abs(&c.Discovery.Static[i].CertificateFile)
	}
	for i := range c.Backend.Clients {
		abs(&c.Backend.Clients[i].WebhookSecretFile)
	}
}

// LoadIdentity reads our signing/decryption key and certificate.
func (c *Config) LoadIdentity() (*trust.Identity, error) {
	id := c.Identity
	password, err := Secret(id.PasswordFile, id.PasswordEnv, "identity")
	if err != nil {
		return nil, err
	}
	if id.PKCS12File != "" {
		entries, err := trust.LoadPKCS12File(id.PKCS12File, password)
		if err != nil {
			return nil, fmt.Errorf("identity.pkcs12File %s: %w", id.PKCS12File, err)
		}
		e, err := trust.SelectKeyEntry(entries, id.KeyAlias)
		if err != nil {
			return nil, fmt.Errorf("identity.keyAlias: %w", err)
		}
		return &e.Identity, nil
	}
	ident, err := trust.LoadPEMFiles(id.KeyFile, id.CertFile, password)
	if err != nil {
		return nil, fmt.Errorf("identity.keyFile/certFile: %w", err)
	}
	return ident, nil
}

// LoadTrust builds the AS4 trust store's anchors (identity.trust.as4.files or
// identity.trustFiles), without revocation; the gateway uses BuildValidator.
func (c *Config) LoadTrust() (*trust.Store, error) {
	st := trust.NewStore()
	files, key := c.AS4TrustFiles()
	for i, f := range files {
		if err := st.AddAnchorsFile(f); err != nil {
			return nil, fmt.Errorf("%s[%d] %s: %w", key, i, f, err)
		}
	}
	return st, nil
}

// TokenHash returns the configuration value for a bearer token:
// "sha256:<hex>".
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf("sha256:%x", sum)
}

// Participants of all backend clients: the recipients this gateway serves.
func (c *Config) Participants() []string {
	var out []string
	for _, cl := range c.Backend.Clients {
		out = append(out, cl.Participants...)
	}
	return out
}
