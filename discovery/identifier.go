package discovery

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// Identifier schemes of the SDK federation (sdk-profile.md).
const (
	// ParticipantScheme is the scheme of SDK participant identifiers
	// (ICD 0203 domain names, 0007 organisationsnummer, 0088 GLN).
	ParticipantScheme = "iso6523-actorid-upis"
	// DocumentScheme is the scheme of SDK document type identifiers.
	DocumentScheme = "busdox-docid-qns"
	// ProcessScheme is the scheme of the SDK process identifier.
	ProcessScheme = "urn:fdc:digg.se:edelivery:process"
	// TransportProfile is the SMP transport profile of SDK access points.
	TransportProfile = "digg-transport-as4-v1_0"
)

// Identifier is an SMP identifier: a scheme and a value, written
// "scheme::value" in SMP URLs and AS4 actions.
type Identifier struct {
	Scheme string
	Value  string
}

// ParseIdentifier splits "scheme::value" at the first "::". The value may
// itself contain "::" (SDK document identifiers do).
func ParseIdentifier(s string) (Identifier, error) {
	scheme, value, ok := strings.Cut(s, "::")
	if !ok {
		return Identifier{}, fmt.Errorf("identifier %q has no scheme (want scheme::value)", s)
	}
	id := Identifier{Scheme: scheme, Value: value}
	return id, id.Validate()
}

// Validate checks that both parts are present and free of control
// characters (they end up in DNS names, URLs and logs).
func (id Identifier) Validate() error {
	if id.Scheme == "" || id.Value == "" {
		return fmt.Errorf("identifier %q: scheme and value are both required", id.String())
	}
	for _, s := range []string{id.Scheme, id.Value} {
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				return errors.New("identifier contains a control character")
			}
		}
	}
	if strings.Contains(id.Scheme, "::") {
		return fmt.Errorf("identifier scheme %q contains \"::\"", id.Scheme)
	}
	return nil
}

func (id Identifier) String() string { return id.Scheme + "::" + id.Value }

// equalParticipant compares participant identifiers case-insensitively, as
// the SML hashes the lower-cased value and iso6523 values are
// case-insensitive.
func equalParticipant(a, b Identifier) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Value, b.Value)
}

// equalDocOrProcess compares document or process identifiers: schemes
// case-insensitively, values exactly (busdox-docid-qns values are
// case-sensitive).
func equalDocOrProcess(a, b Identifier) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && a.Value == b.Value
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// BDXLName returns the DNS name the SML publishes the participant's NAPTR
// record under, per eDelivery BDXL (1.6 and later, 2.0: "Service Provider
// Domains" with hashed identifiers):
//
//	lower(base32(SHA-256(lower(value)))) without "=" padding
//	  + "." + scheme + "." + zone
//
// Only the value is hashed; the scheme is a separate label. This is the rule
// of the eDelivery BDXL profile and of Peppol SML 2.x; the older Peppol SML
// 1.x rule ("B-" + hex(MD5(value)) + "." + scheme + "." + zone, CNAME
// records) is not used by SDK. Checked against the vectors in
// phax/peppol-commons BDXLURLProviderTest, e.g. iso6523-actorid-upis::
// 0088:123abc under edelivery.tech.ec.europa.eu →
// y7dzfxaf3d4cjz4kcgrxtec6twvcga4ky7zwa5boif6mswd4tdrq.iso6523-actorid-upis.edelivery.tech.ec.europa.eu.
//
// The value is lower-cased with strings.ToLower (Unicode), matching Java's
// toLowerCase(Locale.US) for the ASCII identifiers SDK uses. The zone is
// used without its trailing dot. An empty scheme leaves the scheme label
// out, as some eDelivery domains hash the whole "urn:oasis:...:iso6523:"
// identifier into the value.
func BDXLName(participant Identifier, zone string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(participant.Value)))
	var b strings.Builder
	b.WriteString(strings.ToLower(b32.EncodeToString(sum[:])))
	if participant.Scheme != "" {
		b.WriteByte('.')
		b.WriteString(participant.Scheme)
	}
	if z := strings.TrimSuffix(zone, "."); z != "" {
		b.WriteByte('.')
		b.WriteString(z)
	}
	return b.String()
}

// escapeSegment percent-encodes everything but RFC 3986 unreserved
// characters, so "scheme::value" becomes one path segment: ':' as %3A,
// '#' as %23, '/' as %2F, as DomiSMP and phoss-SMP expect (url.PathEscape
// would leave ':' alone, which some SMPs' routers mis-split).
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ServiceGroupURL is {smp}/{scheme}::{value}, the OASIS SMP 1.0 ServiceGroup
// resource.
func ServiceGroupURL(smpBase string, participant Identifier) string {
	return strings.TrimSuffix(smpBase, "/") + "/" + escapeSegment(participant.String())
}

// ServiceMetadataURL is {smp}/{participant}/services/{docScheme}::{docValue},
// the SignedServiceMetadata resource.
func ServiceMetadataURL(smpBase string, participant, doc Identifier) string {
	return ServiceGroupURL(smpBase, participant) + "/services/" + escapeSegment(doc.String())
}
