package trust

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxForwardedCertificateBytes bounds a forwarded-certificate header value;
// a client certificate with its chain fits easily.
const MaxForwardedCertificateBytes = 64 << 10

// maxForwardedCertificates bounds the chain a proxy may forward.
const maxForwardedCertificates = 8

// ParseForwardedCertificate reads the TLS client certificate a
// TLS-terminating reverse proxy forwards in an HTTP header, leaf first. It
// accepts the forms common proxies write:
//
//   - URL-escaped PEM: nginx $ssl_client_escaped_cert, AWS ALB
//     X-Amzn-Mtls-Clientcert, Traefik;
//   - PEM whose line breaks became spaces or tabs: Apache
//     SSL_CLIENT_CERT, nginx $ssl_client_cert;
//   - base64 DER without PEM armour: HAProxy ssl_c_der,base64;
//   - Envoy's X-Forwarded-Client-Cert (Cert="..." and Chain="..." of the
//     last element, the one the nearest proxy added).
//
// Several PEM certificates in one value are leaf first, then the chain.
func ParseForwardedCertificate(value string) ([]*x509.Certificate, error) {
	if len(value) > MaxForwardedCertificateBytes {
		return nil, fmt.Errorf("trust: forwarded certificate header is %d bytes, more than %d", len(value), MaxForwardedCertificateBytes)
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return nil, errors.New("trust: forwarded certificate header is empty")
	}
	if isXFCC(v) {
		return parseXFCC(v)
	}
	if strings.Contains(v, "%") {
		u, err := unescapePEM(v)
		if err != nil {
			return nil, fmt.Errorf("trust: forwarded certificate is not valid URL-escaped PEM: %w", err)
		}
		v = u
	}
	if strings.Contains(v, "-----BEGIN") {
		return parseLoosePEM(v)
	}
	der, err := base64.StdEncoding.DecodeString(stripSpace(v))
	if err != nil {
		return nil, errors.New("trust: forwarded certificate is neither PEM, URL-escaped PEM nor base64 DER")
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("trust: forwarded certificate: %w", err)
	}
	return []*x509.Certificate{c}, nil
}

// unescapePEM undoes URL escaping without turning "+" into a space: in
// base64 a "+" is data, and proxies differ on whether they escape it (AWS
// ALB leaves it). Only the armour lines hold spaces, which form-style
// escaping writes as "+".
func unescapePEM(s string) (string, error) {
	u, err := url.PathUnescape(s)
	if err != nil {
		return "", err
	}
	r := strings.NewReplacer("BEGIN+CERTIFICATE", "BEGIN CERTIFICATE", "END+CERTIFICATE", "END CERTIFICATE")
	return r.Replace(u), nil
}

// parseLoosePEM decodes PEM certificates whose line structure a header
// flattened: everything between BEGIN and END markers is base64 with
// arbitrary white space.
func parseLoosePEM(s string) ([]*x509.Certificate, error) {
	const begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
	var out []*x509.Certificate
	for {
		i := strings.Index(s, begin)
		if i < 0 {
			break
		}
		s = s[i+len(begin):]
		j := strings.Index(s, end)
		if j < 0 {
			return nil, errors.New("trust: forwarded certificate: PEM block without an END line")
		}
		der, err := base64.StdEncoding.DecodeString(stripSpace(s[:j]))
		if err != nil {
			return nil, errors.New("trust: forwarded certificate: PEM body is not base64")
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("trust: forwarded certificate: %w", err)
		}
		if len(out) == maxForwardedCertificates {
			return nil, fmt.Errorf("trust: forwarded certificate: more than %d certificates", maxForwardedCertificates)
		}
		out = append(out, c)
		s = s[j+len(end):]
	}
	if len(out) == 0 {
		return nil, errors.New("trust: forwarded certificate: no CERTIFICATE PEM block")
	}
	return out, nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

// isXFCC recognises Envoy's key=value format by its keys.
func isXFCC(v string) bool {
	for _, k := range []string{"Cert=", "Hash=", "By=", "Chain=", "Subject=", "URI=", "DNS="} {
		if strings.HasPrefix(v, k) || strings.Contains(v, ";"+k) || strings.Contains(v, ","+k) {
			return true
		}
	}
	return false
}

// parseXFCC reads the last element of an X-Forwarded-Client-Cert value:
// elements are separated by commas and pairs by semicolons, outside double
// quotes; Cert and Chain hold URL-escaped PEM.
func parseXFCC(v string) ([]*x509.Certificate, error) {
	elems := splitQuoted(v, ',')
	last := elems[len(elems)-1]
	var cert, chain string
	for _, pair := range splitQuoted(last, ';') {
		k, val, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		switch strings.TrimSpace(k) {
		case "Cert":
			cert = val
		case "Chain":
			chain = val
		}
	}
	if cert == "" && chain == "" {
		return nil, errors.New("trust: X-Forwarded-Client-Cert has no Cert or Chain in its last element (configure the proxy to forward the certificate)")
	}
	pemText, err := unescapePEM(cert + chain)
	if err != nil {
		return nil, fmt.Errorf("trust: X-Forwarded-Client-Cert: %w", err)
	}
	certs, err := parseLoosePEM(pemText)
	if err != nil {
		return nil, err
	}
	// Chain repeats the leaf first; keep one copy.
	if cert != "" && len(certs) > 1 && certs[0].Equal(certs[1]) {
		certs = append(certs[:1], certs[2:]...)
	}
	return certs, nil
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	inQuote, esc, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			inQuote = !inQuote
		case c == sep && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
