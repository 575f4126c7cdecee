package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/as4gw/as4gw/pmode"
)

// Problems is every validation problem of a configuration, each naming its
// key ("listeners.as4.address: ...").
type Problems []string

func (p Problems) Error() string {
	if len(p) == 1 {
		return "config: " + p[0]
	}
	return fmt.Sprintf("config: %d problems:\n  %s", len(p), strings.Join(p, "\n  "))
}

func (p *Problems) add(key, format string, args ...any) {
	*p = append(*p, key+": "+fmt.Sprintf(format, args...))
}

// Validate checks the whole configuration and returns Problems, or nil.
func (c *Config) Validate() error {
	var p Problems
	if strings.TrimSpace(c.DataDir) == "" {
		p.add("dataDir", "must name a directory")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		p.add("logFormat", "%q is not json or text", c.LogFormat)
	}
	c.Listeners.AS4.validate(&p, "listeners.as4", true)
	c.Listeners.Backend.validate(&p, "listeners.backend", false)
	c.Listeners.Operations.validate(&p, "listeners.operations", false)
	if err := c.Limits.Validate(); err != nil {
		p.add("limits", "%v", err)
	}
	c.Identity.validate(&p)
	c.Audit.validate(&p)
	c.Storage.validate(&p)
	c.Discovery.validate(&p)
	c.validateTrust(&p)
	if c.Sender.Workers < 1 || c.Sender.Workers > 256 {
		p.add("sender.workers", "%d is outside 1..256", c.Sender.Workers)
	}
	if c.Sender.RequestTimeout <= 0 {
		p.add("sender.requestTimeout", "must be positive (e.g. 2m)")
	}
	if c.Sender.PollInterval <= 0 {
		p.add("sender.pollInterval", "must be positive (e.g. 1s)")
	}
	for i, party := range c.PModes.Parties {
		if strings.HasPrefix(strings.ToLower(party.Endpoint), "http://") && !c.Sender.AllowPlainHTTP {
			p.add(fmt.Sprintf("pmodes.parties[%d].endpoint", i), "%q is plain HTTP; use https:// or set sender.allowPlainHTTP: true (development only)", party.Endpoint)
		}
	}
	names := map[string]bool{}
	for i, cl := range c.Backend.Clients {
		key := fmt.Sprintf("backend.clients[%d]", i)
		if cl.Name == "" {
			p.add(key+".name", "is required")
		} else if names[cl.Name] {
			p.add(key+".name", "%q is used twice", cl.Name)
		}
		names[cl.Name] = true
		switch {
		case cl.TokenSHA256 == "" && cl.CertificateSHA256 == "":
			p.add(key, "give tokenSHA256 or certificateSHA256 (or both) so the client can authenticate")
		case cl.TokenSHA256 != "":
			if _, err := ParseTokenHash(cl.TokenSHA256); err != nil {
				p.add(key+".tokenSHA256", "%v", err)
			}
		}
		if fp := strings.ReplaceAll(cl.CertificateSHA256, ":", ""); cl.CertificateSHA256 != "" {
			if b, err := hex.DecodeString(fp); err != nil || len(b) != 32 {
				p.add(key+".certificateSHA256", "must be the certificate's SHA-256 fingerprint in hex (openssl x509 -noout -fingerprint -sha256)")
			}
		}
		if len(cl.Participants) == 0 {
			p.add(key+".participants", "list at least one participant id (e.g. 0203:malmo.se) the client may act for")
		}
		for j, part := range cl.Participants {
			if strings.TrimSpace(part) == "" || strings.ContainsAny(part, " \t") {
				p.add(fmt.Sprintf("%s.participants[%d]", key, j), "%q is not a participant id", part)
			}
		}
		if cl.WebhookSecretFile != "" && cl.WebhookSecretEnv != "" {
			p.add(key, "give webhookSecretFile or webhookSecretEnv, not both")
		}
	}
	if c.Backend.Webhooks.Timeout < 0 {
		p.add("backend.webhooks.timeout", "must not be negative (0 takes the default, 10s)")
	}
	if c.Operations.Backup.Enabled && strings.TrimSpace(c.Operations.Backup.TokenFile) == "" {
		p.add("operations.backup.tokenFile", "is required when operations.backup.enabled is true (a file holding the bearer token as4gw backup sends)")
	}
	c.Retention.validate(&p, c.Backend.Clients)
	c.PModes.ApplyDefaults()
	var pp pmode.Problems
	if err := c.PModes.ValidateAt("pmodes"); errors.As(err, &pp) {
		for _, prob := range pp {
			p = append(p, prob.String())
		}
	} else if err != nil {
		p.add("pmodes", "%v", err)
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

func (l Listener) validate(p *Problems, key string, public bool) {
	if l.Address == "" {
		p.add(key+".address", "is required (host:port)")
	} else if _, port, err := net.SplitHostPort(l.Address); err != nil || port == "" {
		p.add(key+".address", "%q is not host:port", l.Address)
	}
	t := l.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		p.add(key+".tls", "give both certFile and keyFile, or neither")
	}
	switch t.ClientAuth {
	case "", "none", "request":
	case "require":
		if t.ClientCAFile == "" && !public { // the AS4 listener uses identity.trust.tls (validateTrust)
			p.add(key+".tls.clientCAFile", "is required when clientAuth is require")
		}
	default:
		p.add(key+".tls.clientAuth", "%q is not none, request or require", t.ClientAuth)
	}
	if public && t.CertFile == "" && !t.AllowPlainHTTP {
		p.add(key+".tls", "the AS4 endpoint needs TLS (certFile, keyFile); set allowPlainHTTP: true only for development or behind a TLS-terminating proxy")
	}
}

func (id Identity) validate(p *Problems) {
	if id.PartyID == "" {
		p.add("identity.partyId", "is required (our access point's party id, e.g. the certificate CN)")
	}
	switch {
	case id.PKCS12File != "" && (id.KeyFile != "" || id.CertFile != ""):
		p.add("identity", "give pkcs12File or keyFile+certFile, not both")
	case id.PKCS12File == "" && (id.KeyFile == "" || id.CertFile == ""):
		p.add("identity", "give pkcs12File, or keyFile and certFile")
	}
	if id.PasswordFile != "" && id.PasswordEnv != "" {
		p.add("identity", "give passwordFile or passwordEnv, not both")
	}
}

// ParseTokenHash reads "sha256:<64 hex digits>".
func ParseTokenHash(s string) ([]byte, error) {
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		return nil, fmt.Errorf("must be \"sha256:\" followed by the hex SHA-256 of the token (e.g. printf %%s \"$TOKEN\" | sha256sum)")
	}
	sum, err := hex.DecodeString(hexPart)
	if err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("must be \"sha256:\" followed by 64 hex digits")
	}
	return sum, nil
}
