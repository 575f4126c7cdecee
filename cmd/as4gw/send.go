package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Final outbound states (Domibus vocabulary): the sender's part is over.
var sendFinalStates = map[string]bool{
	"ACKNOWLEDGED":              true,
	"ACKNOWLEDGED_WITH_WARNING": true,
	"SEND_FAILURE":              true,
}

// Exit statuses of "as4gw send" beyond 0 (acknowledged or submitted), 1 (failed)
// and 2 (usage).
const sendExitPending = 3 // --wait ran out before a final status

type sendOptions struct {
	api       string
	tokenFile string
	tokenEnv  string
	metadata  string
	payloads  []string
	wait      time.Duration
	caFile    string
}

// The status polling interval starts at sendPollMin after each change of status
// and doubles up to sendPollMax (tests shorten both).
var (
	sendPollMin = 250 * time.Millisecond
	sendPollMax = 2 * time.Second
)

func newSendCommand() *cobra.Command {
	var o sendOptions
	cmd := &cobra.Command{
		Use:   "send --api URL --token-file FILE --metadata FILE [--payload ID=PATH ...] [--wait DURATION]",
		Short: "Submit a message through the REST API of a running gateway and wait for its final status",
		Long: `send submits a message to a running gateway through its backend REST API
(POST /api/v1/messages) and prints the messageId the gateway assigned or accepted.

--metadata is the JSON submission (service, serviceType, action, originalSender,
finalRecipient, optional messageId, conversationId, payloads [{id, mimeType,
properties}], ...); the example-metadata.json that "as4gw devpair" writes is one.
Each --payload ID=PATH attaches a file as the part named ID; every payload id the
metadata lists needs one. Files are streamed, never held in memory.

With --wait (default 2m) send then follows the message (GET /api/v1/messages/{id})
until it reaches a final status and prints it: ACKNOWLEDGED,
ACKNOWLEDGED_WITH_WARNING or SEND_FAILURE (with the last attempt's error).
--wait 0 prints the messageId and returns at once.

The bearer token comes from --token-file (e.g. the api-token file devpair writes)
or from the environment variable named by --token-env; never from the command line.

Exit status: 0 when the message was acknowledged (or, with --wait 0, accepted),
1 when the gateway refused the submission, the send failed or the API could not be
reached, 2 for usage errors, 3 when --wait ran out before a final status.`,
		Example: `  as4gw send --api http://127.0.0.1:8101 --token-file blue/api-token \
      --metadata blue/example-metadata.json --payload message=invoice.xml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runSend(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.api, "api", "", "base URL of the gateway's backend API, e.g. http://127.0.0.1:8101 (required)")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the API bearer token")
	f.StringVar(&o.tokenEnv, "token-env", "", "name of an environment variable holding the API bearer token")
	f.StringVar(&o.metadata, "metadata", "", "JSON file with the submission metadata (required)")
	f.StringArrayVar(&o.payloads, "payload", nil, "ID=PATH: send the file at PATH as payload ID; repeatable")
	f.DurationVar(&o.wait, "wait", 2*time.Minute, "how long to wait for a final status; 0 = do not wait")
	f.StringVar(&o.caFile, "cacert", "", "PEM bundle to trust for an https API (default: the system roots)")
	return cmd
}

// sendPayload is one file to attach.
type sendPayload struct {
	id, path, mimeType string
	size               int64
}

// sendRequest is a checked command line: everything runSend needs.
type sendRequest struct {
	base      *url.URL // API base, without /api/v1
	token     string
	metadata  []byte // the metadata file, verbatim (a JSON object)
	messageID string // from the metadata, if the client chose one
	payloads  []sendPayload
	client    *http.Client
}

func runSend(ctx context.Context, stdout, stderr io.Writer, o sendOptions) error {
	req, err := checkSendOptions(o)
	if err != nil {
		return usageError(err)
	}
	id, err := submitMessage(ctx, req)
	if err != nil {
		return exitError{code: 1, err: err}
	}
	fmt.Fprintln(stdout, id)
	if o.wait <= 0 {
		return nil
	}
	status, detail, err := waitFinal(ctx, req, id, o, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, status)
	switch status {
	case "ACKNOWLEDGED", "ACKNOWLEDGED_WITH_WARNING":
		return nil
	default:
		msg := fmt.Sprintf("message %s: %s", id, status)
		if detail != "" {
			msg += ": " + detail
		}
		return exitError{code: 1, err: errors.New(msg)}
	}
}

func checkSendOptions(o sendOptions) (*sendRequest, error) {
	r := &sendRequest{}
	if o.api == "" {
		return nil, errors.New("--api is required: the base URL of the gateway's backend API (gateway.json \"apiUrl\" for a devpair)")
	}
	u, err := url.Parse(o.api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--api %q: want an http:// or https:// URL such as http://127.0.0.1:8101", o.api)
	}
	// Accept the base URL with or without the /api/v1 suffix.
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v1")
	u.RawQuery, u.Fragment = "", ""
	r.base = u

	switch {
	case o.tokenFile != "" && o.tokenEnv != "":
		return nil, errors.New("give either --token-file or --token-env, not both")
	case o.tokenFile != "":
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		r.token = strings.TrimSpace(string(b))
		if r.token == "" {
			return nil, fmt.Errorf("--token-file %s is empty", o.tokenFile)
		}
	case o.tokenEnv != "":
		r.token = strings.TrimSpace(os.Getenv(o.tokenEnv))
		if r.token == "" {
			return nil, fmt.Errorf("--token-env: the environment variable %s is not set or empty", o.tokenEnv)
		}
	default:
		return nil, errors.New("an API token is required: give --token-file FILE or --token-env VAR")
	}

	if o.metadata == "" {
		return nil, errors.New("--metadata is required: a JSON file with the submission (devpair writes example-metadata.json)")
	}
	meta, err := os.ReadFile(o.metadata)
	if err != nil {
		return nil, fmt.Errorf("--metadata: %w", err)
	}
	var md struct {
		MessageID string `json:"messageId"`
		Payloads  []struct {
			ID       string `json:"id"`
			MimeType string `json:"mimeType"`
		} `json:"payloads"`
	}
	dec := json.NewDecoder(bytes.NewReader(meta))
	if err := dec.Decode(&md); err != nil {
		return nil, fmt.Errorf("--metadata %s: not a JSON submission object: %w", o.metadata, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("--metadata %s: trailing data after the JSON object", o.metadata)
	}
	if bytes.TrimSpace(meta)[0] != '{' {
		return nil, fmt.Errorf("--metadata %s: want a JSON object", o.metadata)
	}
	r.metadata = meta
	r.messageID = md.MessageID

	declared := map[string]string{} // id → mimeType
	for i, p := range md.Payloads {
		if p.ID == "" {
			return nil, fmt.Errorf("--metadata %s: payloads[%d].id is empty", o.metadata, i)
		}
		declared[p.ID] = p.MimeType
	}
	given := map[string]bool{}
	for _, spec := range o.payloads {
		id, path, ok := strings.Cut(spec, "=")
		if !ok || id == "" || path == "" {
			return nil, fmt.Errorf("--payload %q: want ID=PATH, e.g. --payload message=invoice.xml", spec)
		}
		if given[id] {
			return nil, fmt.Errorf("--payload %s given twice", id)
		}
		given[id] = true
		mt, isDeclared := declared[id]
		if len(md.Payloads) > 0 && !isDeclared {
			return nil, fmt.Errorf("--payload %s: the metadata declares no payload with id %q (it declares %s)", id, id, strings.Join(sortedKeys(declared), ", "))
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("--payload %s: %w", id, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("--payload %s: %s is not a regular file", id, path)
		}
		if mt == "" {
			mt = "application/octet-stream"
		}
		r.payloads = append(r.payloads, sendPayload{id: id, path: path, mimeType: mt, size: fi.Size()})
	}
	var missing []string
	for id := range declared {
		if !given[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("the metadata declares payload(s) %s: give --payload %s=PATH for each", strings.Join(missing, ", "), missing[0])
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificates found", o.caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	r.client = &http.Client{Transport: tr}
	return r, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (r *sendRequest) endpoint(path string) string {
	u := *r.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}

// submitMessage streams the multipart submission and returns the messageId.
// The body is produced by a goroutine writing into an io.Pipe, so payloads of any
// size go from disk to the socket without being held in memory.
func submitMessage(ctx context.Context, r *sendRequest) (string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		pw.CloseWithError(writeSubmission(ctx, mw, r))
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint("/api/v1/messages"), pr)
	if err != nil {
		pr.Close()
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Accept", "application/json, application/problem+json")
	resp, err := r.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("submit to %s: %w", r.endpoint("/api/v1/messages"), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return "", apiError("submission refused", resp, body)
	}
	var ok struct {
		MessageID string `json:"messageId"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.MessageID == "" {
		return "", fmt.Errorf("submission answered %s without a messageId: %s", resp.Status, snippet(body))
	}
	return ok.MessageID, nil
}

func writeSubmission(ctx context.Context, mw *multipart.Writer, r *sendRequest) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="metadata"; filename="metadata.json"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(r.metadata); err != nil {
		return err
	}
	for _, p := range r.payloads {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(p.path)
		if err != nil {
			return fmt.Errorf("payload %s: %w", p.id, err)
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.id, filepath.Base(p.path)))
		h.Set("Content-Type", p.mimeType)
		w, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.Copy(w, f)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("payload %s: %w", p.id, err)
		}
	}
	return mw.Close()
}

// messageStatus is the part of GET /api/v1/messages/{id} that send reads.
type messageStatus struct {
	MessageID string `json:"messageId"`
	Status    string `json:"status"`
	Attempts  []struct {
		Error json.RawMessage `json:"error"`
	} `json:"attempts"`
}

// lastError renders the last attempt's error, whatever its shape (a string or an
// object with code/detail).
func (s messageStatus) lastError() string {
	if len(s.Attempts) == 0 {
		return ""
	}
	raw := s.Attempts[len(s.Attempts)-1].Error
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		var parts []string
		for _, k := range []string{"code", "shortDescription", "message", "detail", "description"} {
			if v, ok := obj[k]; ok && v != nil && fmt.Sprint(v) != "" {
				parts = append(parts, fmt.Sprint(v))
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, " ")
		}
	}
	return string(raw)
}

// waitFinal polls the message's status until it is final or o.wait runs out.
// Progress (status changes, an unreachable gateway) goes to stderr.
func waitFinal(ctx context.Context, r *sendRequest, id string, o sendOptions, stderr io.Writer) (status, detail string, err error) {
	ctx, cancel := context.WithTimeout(ctx, o.wait)
	defer cancel()
	interval := sendPollMin
	last, lastErr := "", ""
	for {
		st, err := getStatus(ctx, r, id)
		switch {
		case err == nil:
			lastErr = ""
			if st.Status != last {
				line := "status " + st.Status
				if e := st.lastError(); e != "" && !sendFinalStates[st.Status] {
					line += " (last attempt: " + e + ")"
				}
				fmt.Fprintln(stderr, line)
				last = st.Status
				interval = sendPollMin
			}
			if sendFinalStates[st.Status] {
				return st.Status, st.lastError(), nil
			}
		case isPermanent(err):
			return "", "", exitError{code: 1, err: err}
		case ctx.Err() == nil:
			// The gateway may be restarting: keep trying until --wait runs out.
			if err.Error() != lastErr {
				fmt.Fprintf(stderr, "status of %s not available yet: %v\n", id, err)
				lastErr = err.Error()
			}
		}
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); errors.Is(cause, context.DeadlineExceeded) {
				if last == "" {
					last = "unknown"
				}
				return "", "", exitError{code: sendExitPending, err: fmt.Errorf("message %s: no final status within --wait %s (last status %s)", id, o.wait, last)}
			}
			return "", "", exitError{code: 1, err: ctx.Err()}
		case <-time.After(interval):
		}
		if interval *= 2; interval > sendPollMax {
			interval = sendPollMax
		}
	}
}

// permanentError is an API answer that polling again will not change.
type permanentError struct{ error }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func getStatus(ctx context.Context, r *sendRequest, id string) (messageStatus, error) {
	var st messageStatus
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, r.endpoint("/api/v1/messages/"+url.PathEscape(id))+"?direction=out", nil)
	if err != nil {
		return st, permanentError{err}
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Accept", "application/json, application/problem+json")
	resp, err := r.client.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 500:
		return st, apiError("status query failed", resp, body)
	default:
		return st, permanentError{apiError("status query refused", resp, body)}
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, permanentError{fmt.Errorf("status of %s: not JSON: %v: %s", id, err, snippet(body))}
	}
	if st.Status == "" {
		return st, permanentError{fmt.Errorf("status of %s: the answer has no \"status\": %s", id, snippet(body))}
	}
	return st, nil
}

// apiError renders an error answer: an RFC 9457 problem (title, detail, the field
// it names, per-field errors) or, failing that, the status and the start of the body.
func apiError(what string, resp *http.Response, body []byte) error {
	var p map[string]any
	ct := resp.Header.Get("Content-Type")
	if strings.Contains(ct, "json") && json.Unmarshal(body, &p) == nil && len(p) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: HTTP %d", what, resp.StatusCode)
		if t, _ := p["title"].(string); t != "" {
			fmt.Fprintf(&b, " %s", t)
		}
		for _, k := range []string{"field", "pointer", "parameter"} {
			if f, _ := p[k].(string); f != "" {
				fmt.Fprintf(&b, "\n  field: %s", f)
			}
		}
		if list, _ := p["fields"].([]any); len(list) > 0 {
			var fs []string
			for _, f := range list {
				fs = append(fs, fmt.Sprint(f))
			}
			fmt.Fprintf(&b, "\n  fields: %s", strings.Join(fs, ", "))
		}
		if d, _ := p["detail"].(string); d != "" {
			fmt.Fprintf(&b, "\n  detail: %s", d)
		}
		if id, _ := p["messageId"].(string); id != "" {
			fmt.Fprintf(&b, "\n  existing message: %s", id)
			if st, _ := p["messageStatus"].(string); st != "" {
				fmt.Fprintf(&b, " (%s)", st)
			}
		}
		for _, k := range []string{"errors", "invalidParams", "invalid-params"} {
			list, _ := p[k].([]any)
			for _, e := range list {
				m, _ := e.(map[string]any)
				if m == nil {
					fmt.Fprintf(&b, "\n  - %v", e)
					continue
				}
				field := firstString(m, "field", "pointer", "name", "parameter")
				msg := firstString(m, "detail", "reason", "message", "title")
				if field != "" {
					fmt.Fprintf(&b, "\n  - %s: %s", field, msg)
				} else {
					fmt.Fprintf(&b, "\n  - %s", msg)
				}
			}
		}
		if resp.StatusCode == http.StatusUnauthorized {
			b.WriteString("\n  (check the API token: --token-file / --token-env)")
		}
		return errors.New(b.String())
	}
	msg := fmt.Sprintf("%s: HTTP %s", what, resp.Status)
	if s := snippet(body); s != "" {
		msg += ": " + s
	}
	if resp.StatusCode == http.StatusUnauthorized {
		msg += " (check the API token: --token-file / --token-env)"
	}
	return errors.New(msg)
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, _ := m[k].(string); s != "" {
			return s
		}
	}
	return ""
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
