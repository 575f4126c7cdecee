package discovery

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// NamespaceSMP is the OASIS BDXR SMP 1.0 namespace SDK uses.
const NamespaceSMP = "http://docs.oasis-open.org/bdxr/ns/SMP/2016/05"

// ServiceGroup is the unsigned list of document types an SMP holds for a
// participant.
type ServiceGroup struct {
	Participant Identifier
	// DocumentTypes are decoded from the ServiceMetadataReference hrefs;
	// references that do not end in /services/{scheme}::{value} are skipped.
	DocumentTypes []Identifier
}

// Lists reports whether the group references doc.
func (g *ServiceGroup) Lists(doc Identifier) bool {
	for _, d := range g.DocumentTypes {
		if strings.EqualFold(d.Scheme, doc.Scheme) && strings.EqualFold(d.Value, doc.Value) {
			return true
		}
	}
	return false
}

// ServiceMetadata is the content of a verified SignedServiceMetadata: either
// ServiceInformation or a Redirect.
type ServiceMetadata struct {
	Participant  Identifier
	DocumentType Identifier
	Processes    []ProcessInfo
	// Redirect is set instead of the above when the SMP points elsewhere.
	Redirect *Redirect
}

// Redirect is an SMP 1.0 Redirect.
type Redirect struct {
	Href string
	// CertificateUID identifies the certificate the target SMP signs with.
	CertificateUID string
}

// ProcessInfo is one Process of a ServiceInformation.
type ProcessInfo struct {
	Process   Identifier
	Endpoints []EndpointInfo
}

// EndpointInfo is one Endpoint as published.
type EndpointInfo struct {
	TransportProfile              string
	URI                           string
	RequireBusinessLevelSignature bool
	MinimumAuthenticationLevel    string
	ActivationDate                time.Time // zero when absent
	ExpirationDate                time.Time // zero when absent
	CertificateDER                []byte
	ServiceDescription            string
	TechnicalContactURL           string
}

// Certificate parses CertificateDER.
func (e *EndpointInfo) Certificate() (*x509.Certificate, error) {
	if len(e.CertificateDER) == 0 {
		return nil, fmt.Errorf("endpoint %s publishes no certificate", e.URI)
	}
	return x509.ParseCertificate(e.CertificateDER)
}

// smpChildren returns el's children {SMP}local.
func smpChildren(el *etree.Element, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == NamespaceSMP {
			out = append(out, c)
		}
	}
	return out
}

// one returns the single child {SMP}local of el; required says whether its
// absence is an error. Duplicates are always an error: a second element of
// the same name is how wrapping attacks smuggle content past a reader.
func one(el *etree.Element, local string, required bool) (*etree.Element, error) {
	cs := smpChildren(el, local)
	switch {
	case len(cs) > 1:
		return nil, fmt.Errorf("<%s> has %d <%s> elements, want one", el.Tag, len(cs), local)
	case len(cs) == 0 && required:
		return nil, fmt.Errorf("<%s> has no <%s>", el.Tag, local)
	case len(cs) == 0:
		return nil, nil
	}
	return cs[0], nil
}

func text(el *etree.Element) string {
	if el == nil {
		return ""
	}
	return strings.TrimSpace(el.Text())
}

func identifierOf(el *etree.Element) (Identifier, error) {
	id := Identifier{Scheme: strings.TrimSpace(el.SelectAttrValue("scheme", "")), Value: text(el)}
	if id.Value == "" {
		return id, fmt.Errorf("<%s> is empty", el.Tag)
	}
	return id, nil
}

// ParseServiceGroup reads an SMP 1.0 ServiceGroup document.
func ParseServiceGroup(data []byte, lim XMLLimits) (*ServiceGroup, error) {
	doc, err := parseXML(data, lim)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	if root.Tag != "ServiceGroup" || root.NamespaceURI() != NamespaceSMP {
		return nil, fmt.Errorf("document element is {%s}%s, not an SMP 1.0 ServiceGroup", root.NamespaceURI(), root.Tag)
	}
	pel, err := one(root, "ParticipantIdentifier", true)
	if err != nil {
		return nil, err
	}
	g := &ServiceGroup{}
	if g.Participant, err = identifierOf(pel); err != nil {
		return nil, err
	}
	coll, err := one(root, "ServiceMetadataReferenceCollection", true)
	if err != nil {
		return nil, err
	}
	for _, ref := range smpChildren(coll, "ServiceMetadataReference") {
		if d, ok := docTypeFromHref(ref.SelectAttrValue("href", "")); ok {
			g.DocumentTypes = append(g.DocumentTypes, d)
		}
	}
	return g, nil
}

// docTypeFromHref takes the segment after the last "/services/" of an
// href and percent-decodes it.
func docTypeFromHref(href string) (Identifier, bool) {
	i := strings.LastIndex(href, "/services/")
	if i < 0 {
		return Identifier{}, false
	}
	seg, err := url.PathUnescape(strings.TrimSuffix(href[i+len("/services/"):], "/"))
	if err != nil {
		return Identifier{}, false
	}
	id, err := ParseIdentifier(seg)
	return id, err == nil
}

// parseServiceMetadata reads the ServiceMetadata child of a verified
// SignedServiceMetadata root.
func parseServiceMetadata(root *etree.Element) (*ServiceMetadata, error) {
	smEl, err := one(root, "ServiceMetadata", true)
	if err != nil {
		return nil, err
	}
	info, err := one(smEl, "ServiceInformation", false)
	if err != nil {
		return nil, err
	}
	redir, err := one(smEl, "Redirect", false)
	if err != nil {
		return nil, err
	}
	switch {
	case info != nil && redir != nil:
		return nil, fmt.Errorf("<ServiceMetadata> has both ServiceInformation and Redirect")
	case redir != nil:
		r := &Redirect{Href: strings.TrimSpace(redir.SelectAttrValue("href", ""))}
		if err := checkSMPURL(r.Href); err != nil {
			return nil, fmt.Errorf("<Redirect>: %w", err)
		}
		if uid, _ := one(redir, "CertificateUID", false); uid != nil {
			r.CertificateUID = text(uid)
		}
		return &ServiceMetadata{Redirect: r}, nil
	case info == nil:
		return nil, fmt.Errorf("<ServiceMetadata> has neither ServiceInformation nor Redirect")
	}
	sm := &ServiceMetadata{}
	pel, err := one(info, "ParticipantIdentifier", true)
	if err != nil {
		return nil, err
	}
	if sm.Participant, err = identifierOf(pel); err != nil {
		return nil, err
	}
	del, err := one(info, "DocumentIdentifier", true)
	if err != nil {
		return nil, err
	}
	if sm.DocumentType, err = identifierOf(del); err != nil {
		return nil, err
	}
	plist, err := one(info, "ProcessList", true)
	if err != nil {
		return nil, err
	}
	for _, pe := range smpChildren(plist, "Process") {
		var p ProcessInfo
		idEl, err := one(pe, "ProcessIdentifier", true)
		if err != nil {
			return nil, err
		}
		if p.Process, err = identifierOf(idEl); err != nil {
			return nil, err
		}
		list, err := one(pe, "ServiceEndpointList", true)
		if err != nil {
			return nil, err
		}
		for _, ee := range smpChildren(list, "Endpoint") {
			ep, err := parseEndpoint(ee)
			if err != nil {
				return nil, fmt.Errorf("process %s: %w", p.Process, err)
			}
			p.Endpoints = append(p.Endpoints, ep)
		}
		sm.Processes = append(sm.Processes, p)
	}
	return sm, nil
}

func parseEndpoint(ee *etree.Element) (EndpointInfo, error) {
	ep := EndpointInfo{TransportProfile: strings.TrimSpace(ee.SelectAttrValue("transportProfile", ""))}
	if ep.TransportProfile == "" {
		return ep, fmt.Errorf("<Endpoint> without transportProfile")
	}
	get := func(local string, required bool) (string, error) {
		el, err := one(ee, local, required)
		return text(el), err
	}
	var err error
	if ep.URI, err = get("EndpointURI", true); err != nil {
		return ep, err
	}
	rbls, err := get("RequireBusinessLevelSignature", false)
	if err != nil {
		return ep, err
	}
	ep.RequireBusinessLevelSignature = rbls == "true" || rbls == "1"
	if ep.MinimumAuthenticationLevel, err = get("MinimumAuthenticationLevel", false); err != nil {
		return ep, err
	}
	for _, d := range []struct {
		local string
		dst   *time.Time
	}{{"ServiceActivationDate", &ep.ActivationDate}, {"ServiceExpirationDate", &ep.ExpirationDate}} {
		s, err := get(d.local, false)
		if err != nil {
			return ep, err
		}
		if s == "" {
			continue
		}
		if *d.dst, err = parseXSDateTime(s); err != nil {
			return ep, fmt.Errorf("<%s>: %w", d.local, err)
		}
	}
	certText, err := get("Certificate", false)
	if err != nil {
		return ep, err
	}
	if certText != "" {
		if ep.CertificateDER, err = decodeCertificateText(certText); err != nil {
			return ep, fmt.Errorf("<Certificate>: %w", err)
		}
	}
	if ep.ServiceDescription, err = get("ServiceDescription", false); err != nil {
		return ep, err
	}
	if ep.TechnicalContactURL, err = get("TechnicalContactUrl", false); err != nil {
		return ep, err
	}
	return ep, nil
}

// decodeCertificateText decodes xs:base64Binary with line breaks; a PEM
// armour some SMP front ends add is tolerated.
func decodeCertificateText(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "-----BEGIN CERTIFICATE-----")
	s = strings.TrimSuffix(strings.TrimSpace(s), "-----END CERTIFICATE-----")
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	return der, nil
}

// parseXSDateTime reads xs:dateTime (and xs:date); a value without a time
// zone is taken as UTC, as SMPs write local dates without one.
func parseXSDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an xs:dateTime", s)
}
