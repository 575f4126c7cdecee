package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Distinguished-name handling for WS-Security X509IssuerSerial references.
// Peers write X509IssuerName as a string: Java (WSS4J) in RFC 2253 form
// ("CN=ph-as4,C=AT"), .NET with spaces and its own short names ("CN=x, S=y,
// E=z"), some in ASN.1 order ("C=AT, CN=ph-as4"). Comparing strings would
// reject valid references, so the string is parsed and compared attribute by
// attribute with the certificate's encoded issuer name.

// attrTypes maps attribute type names (case-insensitive) to OIDs: the
// RFC 4514 names plus the aliases Java, .NET and OpenSSL print.
var attrTypes = map[string]asn1.ObjectIdentifier{
	"CN":                     {2, 5, 4, 3},
	"SN":                     {2, 5, 4, 4},
	"SURNAME":                {2, 5, 4, 4},
	"SERIALNUMBER":           {2, 5, 4, 5},
	"C":                      {2, 5, 4, 6},
	"L":                      {2, 5, 4, 7},
	"ST":                     {2, 5, 4, 8},
	"S":                      {2, 5, 4, 8},
	"STREET":                 {2, 5, 4, 9},
	"O":                      {2, 5, 4, 10},
	"OU":                     {2, 5, 4, 11},
	"T":                      {2, 5, 4, 12},
	"TITLE":                  {2, 5, 4, 12},
	"DESCRIPTION":            {2, 5, 4, 13},
	"BUSINESSCATEGORY":       {2, 5, 4, 15},
	"POSTALCODE":             {2, 5, 4, 17},
	"NAME":                   {2, 5, 4, 41},
	"G":                      {2, 5, 4, 42},
	"GN":                     {2, 5, 4, 42},
	"GIVENNAME":              {2, 5, 4, 42},
	"INITIALS":               {2, 5, 4, 43},
	"GENERATIONQUALIFIER":    {2, 5, 4, 44},
	"DNQ":                    {2, 5, 4, 46},
	"DNQUALIFIER":            {2, 5, 4, 46},
	"PSEUDONYM":              {2, 5, 4, 65},
	"ORGANIZATIONIDENTIFIER": {2, 5, 4, 97},
	"DC":                     {0, 9, 2342, 19200300, 100, 1, 25},
	"UID":                    {0, 9, 2342, 19200300, 100, 1, 1},
	"E":                      {1, 2, 840, 113549, 1, 9, 1},
	"EMAIL":                  {1, 2, 840, 113549, 1, 9, 1},
	"EMAILADDRESS":           {1, 2, 840, 113549, 1, 9, 1},
}

// dnAttr is one attribute type and value; str is the value as text when it
// is (or decodes to) a string, raw the DER of the value when known.
type dnAttr struct {
	oid   asn1.ObjectIdentifier
	str   string
	isStr bool
	raw   []byte
}

// dnRDNs is a name as a list of RDNs (each a set of attributes) in ASN.1
// order: most significant (C, DC) first.
type dnRDNs [][]dnAttr

// ParseDN parses a distinguished name string in RFC 4514/RFC 2253 form and
// returns it in ASN.1 order (the reverse of the string), so it compares
// directly with a certificate's Issuer.ToRDNSequence(). It also accepts
// RFC 1779 habits: ';' separators, spaces around separators and '=', quoted
// values, "OID." prefixes, and the aliases listed in attrTypes. Values are
// strings, or []byte (DER) for "#hex" values that are not string types.
func ParseDN(s string) (pkix.RDNSequence, error) {
	rdns, err := parseDNString(s)
	if err != nil {
		return nil, err
	}
	seq := make(pkix.RDNSequence, len(rdns))
	for i, rdn := range rdns {
		set := make([]pkix.AttributeTypeAndValue, len(rdn))
		for j, a := range rdn {
			var v any = a.str
			if !a.isStr {
				v = a.raw
			}
			set[j] = pkix.AttributeTypeAndValue{Type: a.oid, Value: v}
		}
		seq[i] = set
	}
	return seq, nil
}

func parseDNString(s string) (dnRDNs, error) {
	p := &dnParser{s: s}
	var rdns dnRDNs
	p.skipSpace()
	if p.eof() {
		return dnRDNs{}, nil
	}
	cur := []dnAttr{}
	for {
		a, err := p.attribute()
		if err != nil {
			return nil, fmt.Errorf("trust: distinguished name %q: %w", s, err)
		}
		cur = append(cur, a)
		p.skipSpace()
		if p.eof() {
			rdns = append(rdns, cur)
			break
		}
		switch c := p.s[p.i]; c {
		case '+':
			p.i++
		case ',', ';':
			p.i++
			rdns = append(rdns, cur)
			cur = []dnAttr{}
		default:
			return nil, fmt.Errorf("trust: distinguished name %q: unexpected %q at offset %d", s, c, p.i)
		}
		p.skipSpace()
	}
	// The string lists the most specific RDN first; ASN.1 order is reversed.
	for i, j := 0, len(rdns)-1; i < j; i, j = i+1, j-1 {
		rdns[i], rdns[j] = rdns[j], rdns[i]
	}
	return rdns, nil
}

type dnParser struct {
	s string
	i int
}

func (p *dnParser) eof() bool { return p.i >= len(p.s) }

func (p *dnParser) skipSpace() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *dnParser) attribute() (dnAttr, error) {
	start := p.i
	for !p.eof() && p.s[p.i] != '=' {
		p.i++
	}
	if p.eof() {
		return dnAttr{}, errors.New("missing '='")
	}
	typ := strings.TrimSpace(p.s[start:p.i])
	p.i++ // '='
	oid, err := parseAttrType(typ)
	if err != nil {
		return dnAttr{}, err
	}
	p.skipSpace()
	a := dnAttr{oid: oid}
	switch {
	case !p.eof() && p.s[p.i] == '#':
		p.i++
		st := p.i
		for !p.eof() && isHex(p.s[p.i]) {
			p.i++
		}
		raw, err := hex.DecodeString(p.s[st:p.i])
		if err != nil || len(raw) == 0 {
			return dnAttr{}, fmt.Errorf("bad hex value for %s", typ)
		}
		a.raw = raw
		a.str, a.isStr = decodeDERString(raw)
	case !p.eof() && p.s[p.i] == '"':
		p.i++
		var b []byte
		for {
			if p.eof() {
				return dnAttr{}, errors.New("unterminated quoted value")
			}
			c := p.s[p.i]
			if c == '"' {
				p.i++
				break
			}
			if c == '\\' {
				r, err := p.escape()
				if err != nil {
					return dnAttr{}, err
				}
				b = append(b, r)
				continue
			}
			b = append(b, c)
			p.i++
		}
		a.str, a.isStr = string(b), true
	default:
		var b []byte
		trailing := 0 // unescaped spaces at the end are not part of the value
		for !p.eof() {
			c := p.s[p.i]
			if c == ',' || c == ';' || c == '+' {
				break
			}
			if c == '\\' {
				r, err := p.escape()
				if err != nil {
					return dnAttr{}, err
				}
				b = append(b, r)
				trailing = 0
				continue
			}
			b = append(b, c)
			if c == ' ' {
				trailing++
			} else {
				trailing = 0
			}
			p.i++
		}
		a.str, a.isStr = string(b[:len(b)-trailing]), true
	}
	if a.isStr && !utf8.ValidString(a.str) {
		return dnAttr{}, fmt.Errorf("value of %s is not UTF-8", typ)
	}
	return a, nil
}

// escape consumes a backslash escape: "\X" for a special character, or "\HH"
// for one byte of a UTF-8 sequence.
func (p *dnParser) escape() (byte, error) {
	p.i++ // '\'
	if p.eof() {
		return 0, errors.New("dangling '\\'")
	}
	if p.i+1 < len(p.s) && isHex(p.s[p.i]) && isHex(p.s[p.i+1]) {
		v, _ := hex.DecodeString(p.s[p.i : p.i+2])
		p.i += 2
		return v[0], nil
	}
	c := p.s[p.i]
	p.i++
	return c, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func parseAttrType(t string) (asn1.ObjectIdentifier, error) {
	if t == "" {
		return nil, errors.New("empty attribute type")
	}
	if oid, ok := attrTypes[strings.ToUpper(t)]; ok {
		return oid, nil
	}
	t = strings.TrimPrefix(strings.TrimPrefix(t, "OID."), "oid.")
	var oid asn1.ObjectIdentifier
	for _, part := range strings.Split(t, ".") {
		n := 0
		if part == "" || len(part) > 9 {
			return nil, fmt.Errorf("unknown attribute type %q", t)
		}
		for _, c := range part {
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("unknown attribute type %q", t)
			}
			n = n*10 + int(c-'0')
		}
		oid = append(oid, n)
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("unknown attribute type %q", t)
	}
	return oid, nil
}

// parseRawDN decodes an encoded Name (such as Certificate.RawIssuer) keeping
// each value's DER, so "#hex" values in strings can match exactly.
func parseRawDN(der []byte) (dnRDNs, error) {
	var seq []asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) > 0 {
		return nil, errors.New("trust: malformed Name")
	}
	out := make(dnRDNs, 0, len(seq))
	for _, set := range seq {
		var atvs []struct {
			Type  asn1.ObjectIdentifier
			Value asn1.RawValue
		}
		if _, err := asn1.UnmarshalWithParams(set.FullBytes, &atvs, "set"); err != nil {
			return nil, errors.New("trust: malformed RDN")
		}
		rdn := make([]dnAttr, 0, len(atvs))
		for _, atv := range atvs {
			a := dnAttr{oid: atv.Type, raw: atv.Value.FullBytes}
			a.str, a.isStr = decodeDERString(atv.Value.FullBytes)
			rdn = append(rdn, a)
		}
		out = append(out, rdn)
	}
	return out, nil
}

// decodeDERString returns the text of a DER-encoded ASN.1 string value.
func decodeDERString(der []byte) (string, bool) {
	var v asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &v); err != nil || len(rest) > 0 || v.Class != asn1.ClassUniversal {
		return "", false
	}
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagNumericString, 26 /* VisibleString */ :
		return string(v.Bytes), utf8.Valid(v.Bytes)
	case asn1.TagT61String:
		// Treated as Latin-1, which is what T61 strings hold in practice.
		r := make([]rune, len(v.Bytes))
		for i, b := range v.Bytes {
			r[i] = rune(b)
		}
		return string(r), true
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), true
	case 28: // UniversalString, UTF-32BE
		if len(v.Bytes)%4 != 0 {
			return "", false
		}
		r := make([]rune, len(v.Bytes)/4)
		for i := range r {
			b := v.Bytes[4*i:]
			r[i] = rune(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		}
		return string(r), true
	}
	return "", false
}

// normalizeDNValue applies the essentials of RFC 4518 caseIgnoreMatch:
// insignificant spaces removed and runs of spaces folded, case folded.
func normalizeDNValue(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

func attrEqual(a, b dnAttr) bool {
	if !a.oid.Equal(b.oid) {
		return false
	}
	if a.isStr && b.isStr {
		return normalizeDNValue(a.str) == normalizeDNValue(b.str)
	}
	return a.raw != nil && string(a.raw) == string(b.raw)
}

// dnEqual compares names RDN by RDN in order; if that fails it compares the
// multisets of attributes, ignoring order, because peers write the RDNs in
// either order and neither side can be told which one was meant. Ignoring
// order cannot make two different CAs' names equal unless they carry the
// same attributes, and the certificate found by name is still chain-validated.
func dnEqual(a, b dnRDNs) bool {
	if len(a) == len(b) {
		ordered := true
		for i := range a {
			if !rdnSetEqual(a[i], b[i]) {
				ordered = false
				break
			}
		}
		if ordered {
			return true
		}
	}
	var fa, fb []dnAttr
	for _, r := range a {
		fa = append(fa, r...)
	}
	for _, r := range b {
		fb = append(fb, r...)
	}
	return rdnSetEqual(fa, fb)
}

// rdnSetEqual reports whether two attribute lists are equal as multisets.
func rdnSetEqual(a, b []dnAttr) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && attrEqual(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// NameMatchesString reports whether the encoded Name rawName (for example
// Certificate.RawIssuer) and the string form s denote the same name, per the
// rules of dnEqual. A string that does not parse matches nothing.
func NameMatchesString(rawName []byte, s string) bool {
	want, err := parseDNString(s)
	if err != nil {
		return false
	}
	have, err := parseRawDN(rawName)
	if err != nil {
		return false
	}
	return dnEqual(have, want)
}

// EqualDNStrings compares two distinguished-name strings by their parsed
// attributes.
func EqualDNStrings(a, b string) (bool, error) {
	pa, err := parseDNString(a)
	if err != nil {
		return false, err
	}
	pb, err := parseDNString(b)
	if err != nil {
		return false, err
	}
	return dnEqual(pa, pb), nil
}

// MatchIssuerSerial reports whether cert is the one named by a WS-Security
// X509IssuerSerial: serial equal and issuer name equal by NameMatchesString.
func MatchIssuerSerial(cert *x509.Certificate, issuerName string, serial *big.Int) bool {
	if cert == nil || serial == nil || cert.SerialNumber == nil || cert.SerialNumber.Cmp(serial) != 0 {
		return false
	}
	return NameMatchesString(cert.RawIssuer, issuerName)
}
