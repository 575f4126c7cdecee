// Package config reads the gateway's configuration: one YAML file, every key
// overridable by an AS4GW_* environment variable, secrets from files or the
// environment (never from the YAML itself). It decodes into typed structs,
// fills defaults, and validates everything with messages that name the key.
package config

import (
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/pmode"
)

// Config is the whole configuration of one gateway.
type Config struct {
	// DataDir holds the message store and payload files.
	DataDir string `mapstructure:"dataDir"`
	// Log: "json" (production) or "text".
	LogFormat string `mapstructure:"logFormat"`

	Listeners Listeners   `mapstructure:"listeners"`
	Limits    soap.Limits `mapstructure:"limits"`
	Identity  Identity    `mapstructure:"identity"`
	Sender    Sender      `mapstructure:"sender"`
	Backend   Backend     `mapstructure:"backend"`
	// PModes are our party, the partners and the legs.
	PModes pmode.Set `mapstructure:"pmodes"`
	// Retention removes finished messages' payloads and metadata (retention.go).
	Retention Retention `mapstructure:"retention"`
	// Audit is the audit log's retention (audit.go).
	Audit Audit `mapstructure:"audit"`
	// Discovery finds receiving access points by SML and SMP (discovery.go).
	Discovery Discovery `mapstructure:"discovery"`
	// Operations configures optional endpoints of the operations listener.
	Operations Operations `mapstructure:"operations"`
	// Storage tunes the message store (storage.go).
	Storage Storage `mapstructure:"storage"`
}

// Operations configures optional endpoints of the operations listener.
type Operations struct {
	Backup OperationsBackup `mapstructure:"backup"`
}

// OperationsBackup enables GET /backup on the operations listener, which
// `as4gw backup` downloads. Off by default: the archive holds every message
// and payload of every organisation served here, and the operations listener
// is often reachable from a monitoring network.
type OperationsBackup struct {
	Enabled bool `mapstructure:"enabled"`
	// TokenFile holds the bearer token a backup request must send (required
	// when enabled; `as4gw backup` reads the same file).
	TokenFile string `mapstructure:"tokenFile"`
}

// Listeners are the three ports: the public AS4 endpoint, the internal
// backend API and the internal operations endpoint.
type Listeners struct {
	AS4        Listener `mapstructure:"as4"`
	Backend    Listener `mapstructure:"backend"`
	Operations Listener `mapstructure:"operations"`
}

// Listener is one HTTP(S) server.
type Listener struct {
	Address string `mapstructure:"address"`
	// PublicURL is how partners reach the AS4 endpoint (for devpair and
	// logs); empty means derived from Address.
	PublicURL string `mapstructure:"publicURL"`
	TLS       TLS    `mapstructure:"tls"`
	// Proxy: the AS4 listener behind a TLS-terminating reverse proxy.
	Proxy Proxy `mapstructure:"proxy"`
}

// TLS configures a listener's TLS. No CertFile means plain HTTP, which is
// refused for the AS4 listener unless AllowPlainHTTP is set.
type TLS struct {
	CertFile string `mapstructure:"certFile"`
	KeyFile  string `mapstructure:"keyFile"`
	// ClientAuth: "none", "request" or "require" (mutual TLS).
	ClientAuth   string `mapstructure:"clientAuth"`
	ClientCAFile string `mapstructure:"clientCAFile"`
	// AllowPlainHTTP permits a listener without TLS (development, or TLS
	// terminated by a reverse proxy in front).
	AllowPlainHTTP bool `mapstructure:"allowPlainHTTP"`
}

// Identity is our access point: party id, signing/decryption key, trust.
type Identity struct {
	PartyID     string `mapstructure:"partyId"`
	PartyIDType string `mapstructure:"partyIdType"`
	// Either PKCS12File (+ password) or KeyFile + CertFile (PEM).
	PKCS12File string `mapstructure:"pkcs12File"`
	KeyAlias   string `mapstructure:"keyAlias"`
	KeyFile    string `mapstructure:"keyFile"`
	CertFile   string `mapstructure:"certFile"`
	// The keystore/key password: from a file or an environment variable.
	PasswordFile string `mapstructure:"passwordFile"`
	PasswordEnv  string `mapstructure:"passwordEnv"`
	// TrustFiles are PEM bundles of the AS4 trust store (partner CAs or
	// pinned partner certificates).
	TrustFiles []string `mapstructure:"trustFiles"`
	// Trust holds the three trust stores (AS4, TLS, SMP) with their
	// revocation checking; see trust.go.
	Trust TrustStores `mapstructure:"trust"`
	// TLSClient is our client certificate for outbound mutual TLS.
	TLSClient TLSClient `mapstructure:"tlsClient"`
}

// Sender tunes outbound delivery.
type Sender struct {
	Workers        int           `mapstructure:"workers"`
	RequestTimeout time.Duration `mapstructure:"requestTimeout"`
	// PollInterval is how often the queue is checked when idle.
	PollInterval time.Duration `mapstructure:"pollInterval"`
	// AllowPlainHTTP permits partner endpoints with http:// URLs (development,
	// or a TLS-originating proxy on the way out). Off: only https://.
	AllowPlainHTTP bool `mapstructure:"allowPlainHTTP"`
}

// Backend configures the REST API's clients.
type Backend struct {
	Clients  []BackendClient `mapstructure:"clients"`
	Webhooks Webhooks        `mapstructure:"webhooks"`
}

// Webhooks tunes event delivery to the URLs clients register.
type Webhooks struct {
	// AllowPlainHTTP permits http:// webhook URLs to any host (development). Off:
	// https://, or http:// to a loopback address only.
	AllowPlainHTTP bool `mapstructure:"allowPlainHTTP"`
	// Timeout bounds one POST (default 10s).
	Timeout time.Duration `mapstructure:"timeout"`
}

// BackendClient is one message service. It authenticates with a bearer token
// (only its SHA-256 is configured: "sha256:<hex>") or with a TLS client
// certificate on the backend listener (its SHA-256 fingerprint, hex), and may
// act only for its participants.
type BackendClient struct {
	Name              string   `mapstructure:"name"`
	TokenSHA256       string   `mapstructure:"tokenSHA256"`
	CertificateSHA256 string   `mapstructure:"certificateSHA256"`
	Participants      []string `mapstructure:"participants"`
	// The key that signs the events POSTed to the client's webhooks (HMAC-SHA256),
	// from a file or an environment variable, never from the YAML. Without one the
	// client cannot register webhooks.
	WebhookSecretFile string `mapstructure:"webhookSecretFile"`
	WebhookSecretEnv  string `mapstructure:"webhookSecretEnv"`
}
