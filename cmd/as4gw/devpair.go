package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/internal/devpki"
)

// devPartyType is the PartyId type of the development gateways.
const devPartyType = "urn:oasis:names:tc:ebcore:partyid-type:unregistered"

func newDevpairCommand() *cobra.Command {
	var dir string
	var basePort int
	cmd := &cobra.Command{
		Use:   "devpair --dir DIR [--base-port N]",
		Short: "Write two ready-to-run development gateways, blue and red, that talk to each other",
		Long: `devpair writes DIR/blue and DIR/red, two complete gateway configurations with keys
issued by a shared development CA (DIR/ca.pem), each other's partner on one leg that
signs, encrypts and compresses with NRR receipts and quick retries. Listeners are
plain HTTP on 127.0.0.1 ports from N: blue uses N (AS4), N+1 (API), N+2 (operations),
red N+3..N+5. For development and tests only.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError(fmt.Errorf("--dir is required"))
			}
			if basePort < 1 || basePort > 65535-5 {
				return usageError(fmt.Errorf("--base-port %d: want 1..65530", basePort))
			}
			if err := writeDevpair(dir, basePort); err != nil {
				return err
			}
			printDevpairUsage(cmd.OutOrStdout(), dir, false)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write blue/, red/ and ca.pem into")
	cmd.Flags().IntVar(&basePort, "base-port", 18080, "first of six consecutive loopback ports")
	return cmd
}

// gatewayInfo is DIR/<name>/gateway.json, for scripts and tests.
type gatewayInfo struct {
	PartyID     string `json:"partyId"`
	PartyIDType string `json:"partyIdType"`
	AS4URL      string `json:"as4Url"`
	APIURL      string `json:"apiUrl"`
	OpsURL      string `json:"opsUrl"`
}

type devGateway struct {
	name        string
	participant string
	as4, api    int
	ops         int
}

func (g devGateway) as4URL() string { return fmt.Sprintf("http://127.0.0.1:%d/as4", g.as4) }

// writeDevpair writes both gateways. Existing files are overwritten.
func writeDevpair(dir string, basePort int) error {
	gws := []devGateway{
		{name: "blue", participant: "0203:blue.example", as4: basePort, api: basePort + 1, ops: basePort + 2},
		{name: "red", participant: "0203:red.example", as4: basePort + 3, api: basePort + 4, ops: basePort + 5},
	}
	ca, err := devpki.NewCA("as4gw development CA")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := ca.WriteCertPEM(filepath.Join(dir, "ca.pem")); err != nil {
		return err
	}
	for i, g := range gws {
		partner := gws[1-i]
		gdir := filepath.Join(dir, g.name)
		if err := os.MkdirAll(gdir, 0o755); err != nil {
			return err
		}
		cert, err := ca.NewAccessPoint(g.name)
		if err != nil {
			return err
		}
		if err := cert.WriteCertPEM(filepath.Join(gdir, "cert.pem")); err != nil {
			return err
		}
		if err := cert.WriteKeyPEM(filepath.Join(gdir, "key.pem")); err != nil {
			return err
		}
		token := randomToken()
		if err := os.WriteFile(filepath.Join(gdir, "api-token"), []byte(token+"\n"), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(gdir, "as4gw.yaml"), []byte(devConfig(g, partner, config.TokenHash(token))), 0o644); err != nil {
			return err
		}
		info := gatewayInfo{PartyID: g.name, PartyIDType: devPartyType, AS4URL: g.as4URL(),
			APIURL: fmt.Sprintf("http://127.0.0.1:%d", g.api), OpsURL: fmt.Sprintf("http://127.0.0.1:%d", g.ops)}
		if err := writeJSON(filepath.Join(gdir, "gateway.json"), info); err != nil {
			return err
		}
		example := map[string]any{
			"service": devService, "serviceType": devServiceType, "action": devAction,
			"originalSender": g.participant, "finalRecipient": partner.participant,
			"payloads": []map[string]string{{"id": "message", "mimeType": "application/xml"}},
		}
		if err := writeJSON(filepath.Join(gdir, "example-metadata.json"), example); err != nil {
			return err
		}
	}
	return nil
}

const (
	devService     = "urn:as4gw:dev:service"
	devServiceType = "urn:as4gw:dev"
	devAction      = "urn:as4gw:dev:message"
)

// devConfig is a gateway configuration, commented so that a newcomer can
// read it as the example it is.
func devConfig(g, partner devGateway, tokenHash string) string {
	r := strings.NewReplacer(
		"$NAME", g.name, "$PARTNER", partner.name, "$AS4", fmt.Sprint(g.as4), "$API", fmt.Sprint(g.api), "$OPS", fmt.Sprint(g.ops),
		"$PURL", partner.as4URL(), "$TOKEN", tokenHash, "$PARTICIPANT", g.participant, "$PTYPE", devPartyType,
		"$SERVICE", devService, "$STYPE", devServiceType, "$ACTION", devAction)
	return r.Replace(`# as4gw development gateway "$NAME", written by "as4gw devpair".
#
# !!! DEVELOPMENT ONLY: every listener below speaks PLAIN HTTP on 127.0.0.1, and the
# !!! keys were generated for this pair by a throwaway CA. Never expose these ports
# !!! or reuse these keys; production configs use TLS (see configs/as4gw.example.yaml).

dataDir: data          # message store and payloads (relative to this file)
logFormat: text

listeners:
  as4:                 # the AS4 endpoint partners POST to: /as4 and /services/msh
    address: "127.0.0.1:$AS4"
    tls: {allowPlainHTTP: true}   # DEVELOPMENT ONLY
  backend:             # the REST API for message services: /api/v1/...
    address: "127.0.0.1:$API"
  operations:          # /healthz, /readyz (and /metrics later)
    address: "127.0.0.1:$OPS"

identity:
  partyId: $NAME
  partyIdType: $PTYPE
  keyFile: key.pem     # signs our messages and decrypts what partners encrypt for us
  certFile: cert.pem
  trust:
    as4:                # partners' signing certificates must chain to this CA
      files: [../ca.pem]
      revocation: {mode: none}   # DEVELOPMENT ONLY: the throwaway CA publishes no OCSP or CRL

sender:
  workers: 32          # concurrent sends; one partner takes at most half
  requestTimeout: 1m
  allowPlainHTTP: true   # DEVELOPMENT ONLY: the partner's endpoint is http:// on loopback

backend:
  clients:
    - name: dev
      # SHA-256 of the token in ./api-token (send it as "Authorization: Bearer <token>")
      tokenSHA256: $TOKEN
      participants: ["$PARTICIPANT"]   # the organisation(s) this client acts for

pmodes:
  self: $NAME
  parties:
    - name: $NAME
      partyIds: [{value: $NAME, type: "$PTYPE"}]
    - name: $PARTNER
      partyIds: [{value: $PARTNER, type: "$PTYPE"}]
      endpoint: $PURL
      certificateFile: ../$PARTNER/cert.pem
  legs:
    - name: dev-message
      initiators: [$NAME, $PARTNER]
      responders: [$NAME, $PARTNER]
      service: {value: "$SERVICE", type: "$STYPE"}
      action: "$ACTION"
      security:
        sign: true              # RSA-SHA256 over eb:Messaging, Body and every payload
        encrypt: true           # AES-128-GCM payloads, RSA-OAEP key transport
        requireSignedReceipt: true
      reliability:
        receipts: true
        nonRepudiation: true    # receipts carry the digests we signed
        duplicateDetection: true
        retry: "1;30;CONSTANT"  # Domibus format: every 2 s for 1 minute (quick, for development)
      properties:
        - {name: originalSender, required: true}
        - {name: finalRecipient, required: true}
      compression: true         # gzip payloads (AS4 compression)
`)
}

func randomToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func readJSON(path string, v any) {
	if data, err := os.ReadFile(path); err == nil {
		json.Unmarshal(data, v)
	}
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func printDevpairUsage(w io.Writer, dir string, running bool) {
	if running {
		fmt.Fprintf(w, "Both gateways are starting now, in this process; stop them with Ctrl-C.\n\n")
	} else {
		fmt.Fprintf(w, `Two development gateways are ready in %[1]s (plain HTTP on loopback: development only).

Start them, each in its own terminal:
  go run ./cmd/as4gw serve --config %[1]s/blue/as4gw.yaml
  go run ./cmd/as4gw serve --config %[1]s/red/as4gw.yaml

`, dir)
	}
	var blue, red gatewayInfo
	readJSON(filepath.Join(dir, "blue", "gateway.json"), &blue)
	readJSON(filepath.Join(dir, "red", "gateway.json"), &red)
	fmt.Fprintf(w, `Send a file from blue to red and wait for the receipt:
  go run ./cmd/as4gw send --api %[2]s --token-file %[1]s/blue/api-token \
      --metadata %[1]s/blue/example-metadata.json --payload message=README.md

Then read red's inbox:
  curl -H "Authorization: Bearer $(cat %[1]s/red/api-token)" %[3]s/api/v1/inbox
`, dir, blue.APIURL, red.APIURL)
}
