package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// NAPTR service and flag of a BDXL record pointing at an SMP (BDXL 1.0 §3.2).
const (
	naptrService = "Meta:SMP"
	naptrFlagU   = "U"
)

// SMLConfig configures the BDXL lookup.
type SMLConfig struct {
	// Zone is the SML domain the federation publishes under, e.g. DIGG's
	// zone for PROD or QA. Required.
	Zone string
	// Servers are DNS resolvers as host:port, tried in order. Empty means
	// the nameservers of /etc/resolv.conf. Tests point it at the loopback
	// server of federationtest.
	Servers []string
	// Timeout bounds one DNS exchange; 0 means 5 s.
	Timeout time.Duration
}

// SML looks participants up in DNS.
type SML struct {
	zone    string
	servers []string
	udp     *dns.Client
	tcp     *dns.Client
}

// NewSML checks cfg and prepares the DNS clients.
func NewSML(cfg SMLConfig) (*SML, error) {
	zone := strings.TrimSuffix(strings.TrimSpace(cfg.Zone), ".")
	if zone == "" {
		return nil, errors.New("discovery: SML zone is required")
	}
	if _, ok := dns.IsDomainName(zone); !ok {
		return nil, fmt.Errorf("discovery: SML zone %q is not a domain name", cfg.Zone)
	}
	servers := slices.Clone(cfg.Servers)
	if len(servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("discovery: no SML DNS servers configured and /etc/resolv.conf unreadable: %w", err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
	}
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("discovery: SML DNS server %q: want host:port", s)
		}
	}
	if len(servers) == 0 {
		return nil, errors.New("discovery: no SML DNS servers")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &SML{
		zone:    zone,
		servers: servers,
		udp:     &dns.Client{Net: "udp", Timeout: timeout, UDPSize: 4096},
		tcp:     &dns.Client{Net: "tcp", Timeout: timeout},
	}, nil
}

// Zone returns the configured zone.
func (s *SML) Zone() string { return s.zone }

// Lookup returns the SMP base URL the SML publishes for participant. Errors
// are *LookupError of KindNotRegistered (NXDOMAIN, no records, no Meta:SMP
// U-NAPTR), KindSMLUnreachable (no server answered usefully) or
// KindBadResponse (Meta:SMP records whose regexp yields no http(s) URL).
func (s *SML) Lookup(ctx context.Context, participant Identifier) (string, error) {
	name := BDXLName(participant, s.zone)
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeNAPTR)
	q.RecursionDesired = true
	q.SetEdns0(4096, false)

	var lastErr error
	for _, server := range s.servers {
		r, err := s.exchange(ctx, q, server)
		if err != nil {
			lastErr = fmt.Errorf("%s: %w", server, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch r.Rcode {
		case dns.RcodeSuccess:
			return s.pick(name, r.Answer)
		case dns.RcodeNameError:
			return "", lookupErr(KindNotRegistered,
				fmt.Sprintf("participant %s is not registered in the SML (%s does not exist)", participant, name), nil)
		default:
			lastErr = fmt.Errorf("%s answered %s", server, dns.RcodeToString[r.Rcode])
		}
	}
	return "", lookupErr(KindSMLUnreachable,
		fmt.Sprintf("the SML (DNS zone %s) could not be queried for participant %s", s.zone, participant), lastErr)
}

func (s *SML) exchange(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	r, _, err := s.udp.ExchangeContext(ctx, q, server)
	if err == nil && r.Truncated {
		r, _, err = s.tcp.ExchangeContext(ctx, q, server)
	}
	if err != nil {
		return nil, err
	}
	if r.Id != q.Id {
		return nil, errors.New("DNS answer id mismatch")
	}
	return r, nil
}

// pick applies U-NAPTR processing (RFC 4848) to the answers: Meta:SMP
// records with flag U, lowest order then preference first, the first whose
// regexp yields an absolute http(s) URL wins.
func (s *SML) pick(name string, answers []dns.RR) (string, error) {
	var recs []*dns.NAPTR
	for _, rr := range answers {
		if n, ok := rr.(*dns.NAPTR); ok && strings.EqualFold(n.Service, naptrService) && strings.EqualFold(n.Flags, naptrFlagU) {
			recs = append(recs, n)
		}
	}
	if len(recs) == 0 {
		return "", lookupErr(KindNotRegistered,
			fmt.Sprintf("the SML has no %s U-NAPTR record at %s", naptrService, name), nil)
	}
	slices.SortStableFunc(recs, func(a, b *dns.NAPTR) int {
		if a.Order != b.Order {
			return int(a.Order) - int(b.Order)
		}
		return int(a.Preference) - int(b.Preference)
	})
	var errs []error
	for _, n := range recs {
		u, err := ApplyNAPTRRegexp(n.Regexp, name)
		if err == nil {
			err = checkSMPURL(u)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return u, nil
	}
	return "", lookupErr(KindBadResponse,
		fmt.Sprintf("the SML record at %s does not give a usable SMP address", name), errors.Join(errs...))
}

func checkSMPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("SMP URL %q: %w", s, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("SMP URL %q is not an absolute http(s) URL", s)
	}
	return nil
}

// ApplyNAPTRRegexp applies a NAPTR regexp field (RFC 3402 §3.2:
// delim-char ERE delim-char replacement delim-char [i]) to aus, sed style:
// the first match is replaced, \1..\9 in the replacement are the
// subexpressions, and "\\" and "\<delim>" are literal. BDXL records use
// "!^.*$!https://smp.example/!", which yields the URL whatever aus is.
func ApplyNAPTRRegexp(field, aus string) (string, error) {
	if len(field) < 3 {
		return "", fmt.Errorf("NAPTR regexp %q is too short", field)
	}
	delim := field[0]
	if delim == '\\' || delim == 'i' || (delim >= '1' && delim <= '9') {
		return "", fmt.Errorf("NAPTR regexp %q: %q cannot be the delimiter", field, delim)
	}
	parts := splitUnescaped(field[1:], delim)
	if len(parts) != 3 {
		return "", fmt.Errorf("NAPTR regexp %q: want %cERE%creplacement%cflags", field, delim, delim, delim)
	}
	ere, repl, flags := unescapeDelim(parts[0], delim), parts[1], parts[2]
	switch flags {
	case "":
	case "i":
		ere = "(?i)" + ere
	default:
		return "", fmt.Errorf("NAPTR regexp %q: unknown flags %q", field, flags)
	}
	re, err := regexp.Compile(ere)
	if err != nil {
		return "", fmt.Errorf("NAPTR regexp %q: %w", field, err)
	}
	m := re.FindStringSubmatchIndex(aus)
	if m == nil {
		return "", fmt.Errorf("NAPTR regexp %q does not match %q", field, aus)
	}
	var out strings.Builder
	out.WriteString(aus[:m[0]])
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '\\' || i+1 == len(repl) {
			out.WriteByte(c)
			continue
		}
		i++
		n := repl[i]
		if n >= '1' && n <= '9' {
			k := int(n - '0')
			if 2*k+1 >= len(m) {
				return "", fmt.Errorf("NAPTR regexp %q: back-reference \\%c has no group", field, n)
			}
			if m[2*k] >= 0 {
				out.WriteString(aus[m[2*k]:m[2*k+1]])
			}
			continue
		}
		out.WriteByte(n) // "\\" or "\<delim>" or any other escaped char
	}
	out.WriteString(aus[m[1]:])
	return out.String(), nil
}

// splitUnescaped splits s at delim characters not preceded by a backslash.
func splitUnescaped(s string, delim byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case delim:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unescapeDelim turns "\<delim>" back into the delimiter in the ERE (other
// escapes are regexp syntax and stay).
func unescapeDelim(s string, delim byte) string {
	if !strings.ContainsRune(`.+*?()|[]{}^$\`, rune(delim)) {
		return strings.ReplaceAll(s, `\`+string(delim), string(delim))
	}
	return s
}
