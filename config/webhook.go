package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// MinWebhookSecretLen is the shortest webhook secret accepted: an HMAC key much shorter
// than its output could be guessed offline from one signed delivery.
const MinWebhookSecretLen = 32

// WebhookSecret reads client i's webhook signing key from webhookSecretFile (trailing
// newline trimmed) or webhookSecretEnv. It returns nil when neither is set. Neither the
// value nor anything derived from it appears in an error.
func (c *Config) WebhookSecret(i int) ([]byte, error) {
	cl := c.Backend.Clients[i]
	key := fmt.Sprintf("backend.clients[%d]", i)
	var secret string
	switch {
	case cl.WebhookSecretFile != "" && cl.WebhookSecretEnv != "":
		return nil, fmt.Errorf("%s: give webhookSecretFile or webhookSecretEnv, not both", key)
	case cl.WebhookSecretFile != "":
		key += ".webhookSecretFile"
		data, err := os.ReadFile(cl.WebhookSecretFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s: %s: %w", key, pe.Path, pe.Err)
			}
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		secret = strings.TrimRight(string(data), "\r\n")
	case cl.WebhookSecretEnv != "":
		key += ".webhookSecretEnv"
		v, ok := os.LookupEnv(cl.WebhookSecretEnv)
		if !ok {
			return nil, fmt.Errorf("%s: environment variable %s is not set", key, cl.WebhookSecretEnv)
		}
		secret = v
	default:
		return nil, nil
	}
	if len(secret) < MinWebhookSecretLen {
		return nil, fmt.Errorf("%s: the secret is %d bytes long, at least %d are needed (e.g. openssl rand -hex 32)", key, len(secret), MinWebhookSecretLen)
	}
	return []byte(secret), nil
}
