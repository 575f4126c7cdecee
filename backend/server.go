package backend

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

// Store is the part of store.Store the API uses. *store.BoltStore implements it.
type Store interface {
	PutPayload(ctx context.Context, r io.Reader) (store.Blob, error)
	OpenPayload(ctx context.Context, ref store.BlobRef) (io.ReadCloser, error)
	DiscardPayload(ctx context.Context, ref store.BlobRef) error
	Submit(ctx context.Context, m store.Message) (store.Message, error)
	Get(ctx context.Context, key store.Key) (store.Message, error)
	Find(ctx context.Context, dir store.Direction, messageID string) ([]store.Message, error)
	History(ctx context.Context, key store.Key) ([]store.Event, error)
	Inbox(ctx context.Context, q store.InboxQuery) ([]store.Message, store.Cursor, error)
	MarkDownloaded(ctx context.Context, key store.Key) (store.Message, error)
	EventsAfter(ctx context.Context, after uint64, limit int, f store.EventFilter) ([]store.Event, uint64, error)
	Changed() <-chan struct{}
	ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, uint64, error)
	WebhookStore
}

// Client is one message service and the participants it acts for.
type Client struct {
	// Name labels the client in logs; unique.
	Name string
	// TokenSHA256 is the SHA-256 of its bearer token (32 bytes; config.ParseTokenHash
	// reads the "sha256:<hex>" form). Nil when the client authenticates by certificate only.
	TokenSHA256 []byte
	// Participants it may send as and receive for. A participant with an empty Type gets
	// DefaultParticipantType; ParseParticipant reads the configuration's string form.
	Participants []store.PartyID
	// WebhookSecret signs the events POSTed to its webhooks (webhooks.go). Nil: the
	// client cannot register webhooks.
	WebhookSecret []byte
}

// Limits bound what one request may bring. Zero values take the defaults.
type Limits struct {
	// MaxRequestBytes caps a submission's whole multipart body (default 2 GiB, so a 1 GiB
	// payload and its metadata pass). A leg's
	// PayloadProfile.MaxSize caps the payloads further.
	MaxRequestBytes int64
	// MaxMetadataBytes caps the metadata JSON part (default 1 MiB).
	MaxMetadataBytes int64
	// MaxPayloads caps the payloads of one submission (default 100).
	MaxPayloads int
}

// Defaults for Limits.
const (
	DefaultMaxRequestBytes  = 2 << 30
	DefaultMaxMetadataBytes = 1 << 20
	DefaultMaxPayloads      = 100
	// MaxWait is the longest an events long poll waits (the wait parameter's maximum).
	MaxWait = 60 * time.Second
)

// Config wires the API.
type Config struct {
	Store Store
	// PModes choose the leg of a submission and its receiving party.
	PModes *pmode.Set
	// Party is our access point's party id, the From of every submitted message. Zero:
	// the first PartyId of the P-Mode set's own party.
	Party   store.PartyID
	Clients []Client
	// ClientCertificates maps the SHA-256 fingerprint (hex, colons allowed) of a TLS client
	// certificate to the Name of the client it authenticates. The listener's TLS handshake
	// proves possession of the key; pinning the fingerprint needs no CA.
	ClientCertificates map[string]string
	// MessageIDDomain is the right-hand side of generated MessageIds (default "as4gw").
	MessageIDDomain string
	Logger          *slog.Logger
	Limits          Limits
	// Now returns the current time (default time.Now); it times requests for the log.
	Now func() time.Time
	// Webhooks tune event delivery to registered URLs (see RunWebhooks).
	Webhooks WebhookOptions
	// Discovery says the gateway finds receiving access points itself (SML/SMP): a
	// submission on a leg open to any party needs only its finalRecipient.
	Discovery bool
}

// Server is the API. It is an http.Handler for the paths under /api/v1/.
type Server struct {
	store Store
	// pmodes, clients and certs are as New built them; requests read live(), which a
	// Reload replaces.
	pmodes   *pmode.Set
	party    store.PartyID
	clients  []*client
	certs    map[[32]byte]*client
	acc      atomic.Pointer[access]
	idDomain string
	log      *slog.Logger
	limits   Limits
	now      func() time.Time
	mux      *http.ServeMux
	hooks    *hookManager
	// discovery: see Config.Discovery.
	discovery bool

	closeOnce sync.Once
	closing   chan struct{}
}

type client struct {
	name   string
	token  []byte
	scope  scope
	secret []byte // webhook signing key
}

// route is one endpoint. The OpenAPI test walks this table.
type route struct {
	method, path string
	public       bool // no authentication (the API description)
	handle       func(s *Server, w http.ResponseWriter, r *http.Request, c *client)
}

const apiPrefix = "/api/v1"

var routes = []route{
	{method: http.MethodPost, path: apiPrefix + "/messages", handle: (*Server).handleSubmit},
	{method: http.MethodGet, path: apiPrefix + "/messages/{messageId}", handle: (*Server).handleGetMessage},
	{method: http.MethodGet, path: apiPrefix + "/messages/{messageId}/payloads/{payloadId}", handle: (*Server).handleDownload},
	{method: http.MethodPost, path: apiPrefix + "/messages/{messageId}/ack", handle: (*Server).handleAck},
	{method: http.MethodGet, path: apiPrefix + "/inbox", handle: (*Server).handleInbox},
	{method: http.MethodGet, path: apiPrefix + "/events", handle: (*Server).handleEvents},
	{method: http.MethodGet, path: apiPrefix + "/audit", handle: (*Server).handleAudit},
	{method: http.MethodPost, path: apiPrefix + "/webhooks", handle: (*Server).handleCreateWebhook},
	{method: http.MethodGet, path: apiPrefix + "/webhooks", handle: (*Server).handleListWebhooks},
	{method: http.MethodGet, path: apiPrefix + "/webhooks/{webhookId}", handle: (*Server).handleGetWebhook},
	{method: http.MethodDelete, path: apiPrefix + "/webhooks/{webhookId}", handle: (*Server).handleDeleteWebhook},
	{method: http.MethodGet, path: apiPrefix + "/openapi.yaml", public: true, handle: (*Server).handleOpenAPI},
}

// New checks the configuration and builds the API.
func New(cfg Config) (*Server, error) {
	s := &Server{
		store: cfg.Store, pmodes: cfg.PModes, party: cfg.Party, idDomain: cfg.MessageIDDomain,
		log: cfg.Logger, limits: cfg.Limits, now: cfg.Now, discovery: cfg.Discovery,
		certs: map[[32]byte]*client{}, closing: make(chan struct{}),
	}
	if s.store == nil {
		return nil, errors.New("backend: no store configured")
	}
	if s.pmodes == nil {
		return nil, errors.New("backend: no P-Modes configured")
	}
	if s.party.IsZero() {
		if self := s.pmodes.SelfParty(); self != nil && len(self.PartyIDs) > 0 {
			s.party = store.PartyID{ID: self.PartyIDs[0].Value, Type: self.PartyIDs[0].Type}
		} else {
			return nil, fmt.Errorf("backend: no own party id: set Config.Party or give the P-Mode set's own party %q a PartyId", s.pmodes.Self)
		}
	}
	if s.idDomain == "" {
		s.idDomain = "as4gw"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.limits.MaxRequestBytes <= 0 {
		s.limits.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if s.limits.MaxMetadataBytes <= 0 {
		s.limits.MaxMetadataBytes = DefaultMaxMetadataBytes
	}
	if s.limits.MaxPayloads <= 0 {
		s.limits.MaxPayloads = DefaultMaxPayloads
	}
	byName := map[string]*client{}
	for i, c := range cfg.Clients {
		where := fmt.Sprintf("backend: client %d (%q)", i, c.Name)
		if c.Name == "" {
			return nil, fmt.Errorf("%s: no name", where)
		}
		if byName[c.Name] != nil {
			return nil, fmt.Errorf("%s: the name is used twice", where)
		}
		if c.TokenSHA256 != nil && len(c.TokenSHA256) != sha256.Size {
			return nil, fmt.Errorf("%s: token hash has %d bytes, want %d (SHA-256)", where, len(c.TokenSHA256), sha256.Size)
		}
		if len(c.Participants) == 0 {
			return nil, fmt.Errorf("%s: no participants", where)
		}
		parts := make([]store.PartyID, 0, len(c.Participants))
		for j, p := range c.Participants {
			np, err := participant(p.ID, p.Type)
			if err != nil {
				return nil, fmt.Errorf("%s: participant %d: %v", where, j, err)
			}
			parts = append(parts, np)
		}
		cl := &client{name: c.Name, token: slices.Clone(c.TokenSHA256), scope: newScope(parts), secret: slices.Clone(c.WebhookSecret)}
		byName[c.Name] = cl
		s.clients = append(s.clients, cl)
	}
	for fp, name := range cfg.ClientCertificates {
		sum, err := hex.DecodeString(strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(fp), "sha256:"), ":", ""))
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("backend: client certificate fingerprint %q is not a SHA-256 in hex", fp)
		}
		cl := byName[name]
		if cl == nil {
			return nil, fmt.Errorf("backend: client certificate %s names client %q, which is not configured", fp, name)
		}
		s.certs[[32]byte(sum)] = cl
	}
	hasCert := map[*client]bool{}
	for _, cl := range s.certs {
		hasCert[cl] = true
	}
	for _, cl := range s.clients {
		if cl.token == nil && !hasCert[cl] {
			return nil, fmt.Errorf("backend: client %q has neither a token hash nor a client certificate: it could never authenticate", cl.name)
		}
	}
	s.hooks = &hookManager{s: s, opts: cfg.Webhooks, running: map[uint64]*dispatcher{}}
	s.hooks.opts.fill()
	s.mux = s.buildMux()
	s.acc.Store(&access{pmodes: s.pmodes, clients: s.clients, certs: s.certs})
	return s, nil
}

// access is what a reload can replace: the P-Modes and the clients with their credentials
// and participants.
type access struct {
	pmodes  *pmode.Set
	clients []*client
	certs   map[[32]byte]*client
}

// live returns the P-Modes and clients in force.
func (s *Server) live() *access { return s.acc.Load() }

// Reload puts cfg's P-Modes, Clients and ClientCertificates in force for requests that
// start from now on (a request under way keeps what it authenticated with). The rest of
// cfg must be what New was given; it is checked as New checks it. On an error nothing
// changes.
func (s *Server) Reload(cfg Config) error {
	n, err := New(cfg)
	if err != nil {
		return err
	}
	s.acc.Store(n.acc.Load())
	s.hooks.refresh()
	return nil
}

// Serves reports whether some client receives for the participant: the MSH's
// Gateway.Serves, so that a message for a participant no backend serves is refused
// (NOT_SERVICED) rather than stored for no one.
func (s *Server) Serves(p store.PartyID) bool {
	// An untyped finalRecipient is accepted for a participant of the default type, as
	// the inbox and lookups do.
	untyped := store.PartyID{ID: p.ID, Type: DefaultParticipantType}
	for _, c := range s.live().clients {
		if c.scope.set[p] || (p.Type == "" && c.scope.set[untyped]) {
			return true
		}
	}
	return false
}

// Close ends waiting event long polls at once (they answer with what they have), so that
// an http.Server's Shutdown need not wait for them. Call it before Shutdown.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

func (s *Server) buildMux() *http.ServeMux {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			var c *client
			if !rt.public {
				var p *Problem
				if c, p = s.authenticate(r); p != nil {
					w.Header().Set("WWW-Authenticate", authChallenge(r))
					writeProblem(w, r, p)
					return
				}
				setClient(r, c)
			}
			rt.handle(s, w, r, c)
		})
		if _, ok := allowed[rt.path]; !ok {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, p := range paths {
		methods := allowed[p]
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, r, problem(kindMethod, "", "%s is not allowed here; allowed: %s", r.Method, allow))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, problem(kindNotFound, "", "no such endpoint: %s %s (see %s/openapi.yaml)", r.Method, r.URL.Path, apiPrefix))
	})
	return mux
}

// ServeHTTP serves the API: it recovers from panics (500 problem) and logs each request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	sw := &statusWriter{ResponseWriter: w}
	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("backend: handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			if !sw.wrote {
				writeProblem(sw, r, problem(kindInternal, "", "the server failed; the operator's log has the details"))
			}
		}
		lvl := slog.LevelDebug
		if sw.status >= 500 {
			lvl = slog.LevelError
		}
		s.log.Log(r.Context(), lvl, "backend request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "client", info.client, "duration", s.now().Sub(start))
	}()
	s.mux.ServeHTTP(sw, r)
}

type requestInfoKey struct{}

type requestInfo struct{ client string }

func setClient(r *http.Request, c *client) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok && c != nil {
		info.client = c.name
	}
}

// statusWriter records the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the connection's sendfile path for payload downloads.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

// writerOnly hides every method but Write (so io.Copy does not recurse into ReadFrom).
type writerOnly struct{ io.Writer }

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maxTokenLen bounds a bearer token; longer ones are refused before hashing.
const maxTokenLen = 4096

// authenticate finds the client of a request: by bearer token when an Authorization header
// is present, else by pinned TLS client certificate.
func (s *Server) authenticate(r *http.Request) (*client, *Problem) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return nil, problem(kindUnauthorized, "Authorization", "expects \"Authorization: Bearer <token>\"")
		}
		if len(tok) > maxTokenLen {
			return nil, problem(kindUnauthorized, "Authorization", "the bearer token is not valid")
		}
		sum := sha256.Sum256([]byte(tok))
		var found *client
		for _, c := range s.live().clients { // no early exit: every hash is compared
			if c.token != nil && subtle.ConstantTimeCompare(sum[:], c.token) == 1 {
				found = c
			}
		}
		if found == nil {
			return nil, problem(kindUnauthorized, "Authorization", "the bearer token is not valid")
		}
		return found, nil
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		fp := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		if c := s.live().certs[fp]; c != nil {
			return c, nil
		}
		return nil, problem(kindUnauthorized, "Authorization",
			"the TLS client certificate (SHA-256 %x) is not configured for any client, and no bearer token was given", fp)
	}
	return nil, problem(kindUnauthorized, "Authorization", "no credentials: send \"Authorization: Bearer <token>\" or a configured TLS client certificate")
}

func authChallenge(r *http.Request) string {
	if r.Header.Get("Authorization") != "" {
		return `Bearer realm="as4gw", error="invalid_token"`
	}
	return `Bearer realm="as4gw"`
}

// storeProblem maps a store failure that is not the client's doing.
func (s *Server) storeProblem(r *http.Request, what string, err error) *Problem {
	if errors.Is(err, store.ErrClosed) {
		return problem(kindUnavailable, "", "the message store is closed (the gateway is stopping)")
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return problem(kindInvalid, "", "the request was cancelled")
	}
	s.log.Error("backend: store failure", "operation", what, "path", r.URL.Path, "error", err)
	return problem(kindInternal, "", "%s failed; the operator's log has the details", what)
}
