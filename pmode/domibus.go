package pmode

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// DomibusNamespace is the namespace of a Domibus P-Mode file's root element.
const DomibusNamespace = "http://domibus.eu/configuration"

// maxDomibusFile bounds the input: P-Mode files of large federations run to a
// few megabytes.
const maxDomibusFile = 32 << 20

// Warning is something of a Domibus P-Mode file that was not imported as it
// stands: an unsupported feature, an ignored setting, a repaired value.
type Warning struct {
	// Where names the element, e.g. `party "red_gw"` or `legConfiguration "x"`.
	Where   string
	Message string
}

func (w Warning) String() string { return w.Where + ": " + w.Message }

// ImportDomibus reads a Domibus P-Mode file (the configuration document) into
// a Set for our party: ourPartyName, or when empty the file's own party
// attribute. Parties, identifiers and endpoints; services, actions and
// agreements; securities (policy file names mapped to sign/encrypt,
// signatureMethod); receptionAwareness retry and duplicate detection;
// reliability; property sets; payload profiles; and legConfigurations as used
// by processes (one leg per process and legConfiguration) are imported.
// Everything else becomes a Warning naming it; nothing is dropped silently.
// The result has ApplyDefaults applied; call Validate on it.
func ImportDomibus(r io.Reader, ourPartyName string) (*Set, []Warning, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDomibusFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("pmode: reading Domibus P-Mode: %w", err)
	}
	if len(data) > maxDomibusFile {
		return nil, nil, fmt.Errorf("pmode: Domibus P-Mode is larger than %d bytes", maxDomibusFile)
	}
	im := &domibusImporter{set: &Set{}}
	fixed, lines := repairAttributeValues(data)
	if len(lines) > 0 {
		im.warn("document", "unescaped '<' or '&' in attribute values on line(s) %s (a template placeholder such as <red_hostname>?); read as literal text", joinInts(lines))
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(fixed); err != nil {
		return nil, im.warnings, fmt.Errorf("pmode: Domibus P-Mode is not well-formed XML: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "configuration" {
		got := "nothing"
		if root != nil {
			got = "<" + root.Tag + ">"
		}
		return nil, im.warnings, fmt.Errorf("pmode: Domibus P-Mode root is %s, expects <configuration> in namespace %s", got, DomibusNamespace)
	}
	if ns := root.NamespaceURI(); ns != DomibusNamespace {
		im.warn("configuration", "namespace is %s, expects %s; read anyway", show(ns), DomibusNamespace)
	}
	im.checkAttrs(root, "configuration", "party")
	im.checkChildren(root, "configuration", "mpcs", "businessProcesses")
	self := ourPartyName
	if own := attr(root, "party"); self == "" {
		self = own
	} else if own != "" && !strings.EqualFold(own, self) {
		im.warn("configuration", "the file is the P-Mode of party %q; imported for %q", own, self)
	}
	if self == "" {
		return nil, im.warnings, errors.New("pmode: Domibus P-Mode names no party of its own (configuration/@party) and none was given")
	}
	bp := child(root, "businessProcesses")
	if bp == nil {
		return nil, im.warnings, errors.New("pmode: Domibus P-Mode has no businessProcesses")
	}
	im.checkChildren(bp, "businessProcesses", "roles", "parties", "meps", "properties", "payloadProfiles",
		"securities", "errorHandlings", "agreements", "services", "actions", "as4", "splittingConfigurations",
		"legConfigurations", "process")
	im.readMPCs(child(root, "mpcs"))
	im.readDefinitions(bp)
	im.readParties(child(bp, "parties"))
	selfParty := im.party(self)
	if selfParty == "" {
		return nil, im.warnings, fmt.Errorf("pmode: our party %q is not among the Domibus parties (%s)", self, nameList(im.partyOrder))
	}
	im.set.Self = selfParty
	im.readLegConfigurations(child(bp, "legConfigurations"))
	im.readProcesses(children(bp, "process"))
	im.set.ApplyDefaults()
	return im.set, im.warnings, nil
}

type awareness struct {
	retry     RetryPolicy
	duplicate bool
}

type reliabilityDef struct {
	nonRepudiation bool
	replyPattern   string
}

// domibusImporter holds the named definitions; maps are keyed by lower-case
// name, as Domibus compares names case-insensitively.
type domibusImporter struct {
	set      *Set
	warnings []Warning

	roles, partyIDTypes, mpcs, meps, bindings, actions map[string]string
	services                                           map[string]Service
	agreements                                         map[string]AgreementRef
	properties                                         map[string]PropertyRule
	propertySets                                       map[string][]PropertyRule
	payloads                                           map[string]PayloadPart
	payloadProfiles                                    map[string]PayloadProfile
	securities                                         map[string]Security
	errorHandlings                                     map[string]bool
	awareness                                          map[string]awareness
	reliabilities                                      map[string]reliabilityDef
	legConfigs                                         map[string]*etree.Element
	legOrder                                           []string
	legUsed                                            map[string]bool
	partyOrder                                         []string
	partyNames                                         map[string]string // lower-case name -> name
}

func (im *domibusImporter) warn(where, format string, args ...any) {
	im.warnings = append(im.warnings, Warning{Where: where, Message: fmt.Sprintf(format, args...)})
}

func (im *domibusImporter) checkAttrs(el *etree.Element, where string, known ...string) {
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") || contains(known, a.Key) {
			continue
		}
		im.warn(where, "attribute %s=%q is not supported; ignored", a.Key, a.Value)
	}
}

func (im *domibusImporter) checkChildren(el *etree.Element, where string, known ...string) {
	if el == nil {
		return
	}
	for _, c := range el.ChildElements() {
		if !contains(known, c.Tag) {
			im.warn(where, "element <%s> is not supported; ignored", c.Tag)
		}
	}
}

// named iterates the children with a local name, each with its name attribute
// and a "kind \"name\"" label; unnamed ones are reported and skipped.
func (im *domibusImporter) named(parent *etree.Element, local string, fn func(el *etree.Element, name, where string)) {
	for _, el := range children(parent, local) {
		name := attr(el, "name")
		if name == "" {
			im.warn(local, "an element without name attribute; ignored")
			continue
		}
		fn(el, name, fmt.Sprintf("%s %q", local, name))
	}
}

func (im *domibusImporter) readMPCs(mpcs *etree.Element) {
	im.mpcs = map[string]string{}
	im.checkChildren(mpcs, "mpcs", "mpc")
	im.named(mpcs, "mpc", func(el *etree.Element, name, where string) {
		var retention []string
		for _, a := range el.Attr {
			switch {
			case a.Key == "name" || a.Key == "qualifiedName" || a.Key == "default" || a.Key == "enabled":
			case strings.HasPrefix(a.Key, "retention_") || a.Key == "delete_message_metadata" || a.Key == "max_batch_delete":
				retention = append(retention, a.Key+"="+a.Value)
			default:
				im.warn(where, "attribute %s=%q is not supported; ignored", a.Key, a.Value)
			}
		}
		if len(retention) > 0 {
			im.warn(where, "retention settings (%s) are not P-Mode settings in as4gw (configure retention in the store); ignored", strings.Join(retention, ", "))
		}
		if !boolAttr(el, "enabled", true) {
			im.warn(where, "enabled=\"false\" is not supported: legs using this MPC are imported as usable")
		}
		im.mpcs[strings.ToLower(name)] = attr(el, "qualifiedName")
	})
}

// readDefinitions reads the named building blocks legs refer to.
func (im *domibusImporter) readDefinitions(bp *etree.Element) {
	simple := func(section, local string, into map[string]string) {
		sec := child(bp, section)
		im.checkChildren(sec, section, local)
		im.named(sec, local, func(el *etree.Element, name, where string) {
			im.checkAttrs(el, where, "name", "value")
			into[strings.ToLower(name)] = attr(el, "value")
		})
	}
	im.roles, im.actions = map[string]string{}, map[string]string{}
	simple("roles", "role", im.roles)
	simple("actions", "action", im.actions)

	im.meps, im.bindings = map[string]string{}, map[string]string{}
	meps := child(bp, "meps")
	im.checkChildren(meps, "meps", "mep", "binding")
	im.named(meps, "mep", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "value", "legs")
		im.meps[strings.ToLower(name)] = attr(el, "value")
	})
	im.named(meps, "binding", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "value")
		im.bindings[strings.ToLower(name)] = attr(el, "value")
	})

	im.services = map[string]Service{}
	services := child(bp, "services")
	im.checkChildren(services, "services", "service")
	im.named(services, "service", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "value", "type")
		im.services[strings.ToLower(name)] = Service{Value: attr(el, "value"), Type: attr(el, "type")}
	})

	im.agreements = map[string]AgreementRef{}
	agreements := child(bp, "agreements")
	im.checkChildren(agreements, "agreements", "agreement")
	im.named(agreements, "agreement", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "value", "type")
		im.agreements[strings.ToLower(name)] = AgreementRef{Value: attr(el, "value"), Type: attr(el, "type")}
	})

	im.readProperties(child(bp, "properties"))
	im.readPayloadProfiles(child(bp, "payloadProfiles"))
	im.readSecurities(child(bp, "securities"))
	im.readErrorHandlings(child(bp, "errorHandlings"))
	im.readAS4(child(bp, "as4"))
	if sc := child(bp, "splittingConfigurations"); sc != nil {
		im.warn("splittingConfigurations", "message splitting (Domibus large-file fragments) is not supported; ignored")
	}
}

func (im *domibusImporter) readProperties(props *etree.Element) {
	im.properties, im.propertySets = map[string]PropertyRule{}, map[string][]PropertyRule{}
	im.checkChildren(props, "properties", "property", "propertySet")
	im.named(props, "property", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "key", "datatype", "required")
		if dt := attr(el, "datatype"); dt != "" && !strings.EqualFold(dt, "string") {
			im.warn(where, "datatype %q is not checked by as4gw (values are strings)", dt)
		}
		key := attr(el, "key")
		if key == "" {
			im.warn(where, "no key attribute; ignored")
			return
		}
		im.properties[strings.ToLower(name)] = PropertyRule{Name: key, Required: boolAttr(el, "required", false)}
	})
	im.named(props, "propertySet", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name")
		im.checkChildren(el, where, "propertyRef")
		var rules []PropertyRule
		for _, ref := range children(el, "propertyRef") {
			p, ok := im.properties[strings.ToLower(attr(ref, "property"))]
			if !ok {
				im.warn(where, "propertyRef %q names no property; ignored", attr(ref, "property"))
				continue
			}
			rules = append(rules, p)
		}
		im.propertySets[strings.ToLower(name)] = rules
	})
}

func (im *domibusImporter) readPayloadProfiles(pps *etree.Element) {
	im.payloads, im.payloadProfiles = map[string]PayloadPart{}, map[string]PayloadProfile{}
	im.checkChildren(pps, "payloadProfiles", "payload", "payloadProfile")
	im.named(pps, "payload", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "cid", "required", "mimeType", "inBody", "maxSize", "schemaFile")
		if v := attr(el, "maxSize"); v != "" {
			im.warn(where, "per-payload maxSize=%q is not supported (the payload profile's maxSize caps the total); ignored", v)
		}
		if v := attr(el, "schemaFile"); v != "" {
			im.warn(where, "schemaFile=%q: as4gw does not validate payloads against schemas; ignored", v)
		}
		im.payloads[strings.ToLower(name)] = PayloadPart{
			Name: name, ContentID: attr(el, "cid"), MimeType: attr(el, "mimeType"),
			InBody: boolAttr(el, "inBody", false), Required: boolAttr(el, "required", false),
		}
	})
	im.named(pps, "payloadProfile", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "maxSize")
		im.checkChildren(el, where, "attachment")
		var pp PayloadProfile
		if v := attr(el, "maxSize"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			switch {
			case err != nil || n < 0:
				im.warn(where, "maxSize %q is not a size in bytes; no limit imported", v)
			default:
				pp.MaxSize = n
				im.warn(where, "maxSize=%d imported as the limit on a message's total payload size (Domibus applies it per payload, and older versions ignore it)", n)
			}
		}
		for _, a := range children(el, "attachment") {
			p, ok := im.payloads[strings.ToLower(attr(a, "name"))]
			if !ok {
				im.warn(where, "attachment %q names no payload; ignored", attr(a, "name"))
				continue
			}
			pp.Parts = append(pp.Parts, p)
		}
		im.payloadProfiles[strings.ToLower(name)] = pp
	})
}

func (im *domibusImporter) readSecurities(secs *etree.Element) {
	im.securities = map[string]Security{}
	im.checkChildren(secs, "securities", "security")
	im.named(secs, "security", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "policy", "signatureMethod", "profile")
		policy := attr(el, "policy")
		file := strings.TrimSuffix(path.Base(strings.ReplaceAll(policy, `\`, "/")), ".xml")
		const edelivery = "eDeliveryAS4Policy"
		var sec Security
		switch {
		case strings.EqualFold(file, "doNothingPolicy"):
			im.warn(where, "policy %q: legs using it send and accept unsigned, unencrypted messages", policy)
		case len(file) >= 8 && strings.EqualFold(file[:8], "signOnly"):
			sec.Sign = true
		case len(file) >= len(edelivery) && strings.EqualFold(file[:len(edelivery)], edelivery):
			sec.Sign, sec.Encrypt = true, true
			if variant := file[len(edelivery):]; variant != "" {
				im.warn(where, "policy %q: the token reference variant (%s) is not a P-Mode setting in as4gw; inbound messages may use any of BST, IssuerSerial or SKI", policy, strings.TrimPrefix(variant, "_"))
			}
		default:
			sec.Sign, sec.Encrypt = true, true
			im.warn(where, "policy %q is not a known Domibus policy; imported as sign and encrypt (eDelivery AS4)", policy)
		}
		if sec.Sign {
			sec.RequireSignedReceipt = true
			if sm := attr(el, "signatureMethod"); sm != "" {
				if uri, ok := resolveAlg(algSignature, sm); ok {
					sec.SignatureAlgorithm = uri
				} else {
					im.warn(where, "signatureMethod %q is not supported (use %s); RSA-SHA256 imported", sm, allowedNames(algSignature))
				}
			}
		}
		if p := attr(el, "profile"); p != "" && !strings.EqualFold(p, "RSA") {
			im.warn(where, "security profile %q is not supported (RSA only); RSA imported", p)
		}
		im.securities[strings.ToLower(name)] = sec
	})
}

func (im *domibusImporter) readErrorHandlings(ehs *etree.Element) {
	im.errorHandlings = map[string]bool{}
	im.checkChildren(ehs, "errorHandlings", "errorHandling")
	notify := []string{"businessErrorNotifyProducer", "businessErrorNotifyConsumer", "deliveryFailureNotifyProducer", "deliveryFailureNotifyConsumer"}
	im.named(ehs, "errorHandling", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, append([]string{"name", "errorAsResponse"}, notify...)...)
		if !boolAttr(el, "errorAsResponse", true) {
			im.warn(where, "errorAsResponse=\"false\" is not supported: as4gw returns errors on the HTTP response")
		}
		for _, n := range notify {
			if attr(el, n) != "" && !boolAttr(el, n, true) {
				im.warn(where, "%s=\"false\": as4gw always raises the event; backends choose which events they read", n)
			}
		}
		im.errorHandlings[strings.ToLower(name)] = true
	})
}

func (im *domibusImporter) readAS4(as4 *etree.Element) {
	im.awareness, im.reliabilities = map[string]awareness{}, map[string]reliabilityDef{}
	im.checkChildren(as4, "as4", "receptionAwareness", "reliability", "splitting")
	im.named(as4, "receptionAwareness", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "retry", "duplicateDetection")
		a := awareness{duplicate: boolAttr(el, "duplicateDetection", false)}
		if s := attr(el, "retry"); s != "" {
			r, err := ParseRetry(s)
			if err != nil {
				im.warn(where, "%v; imported as SEND_ONCE", err)
			}
			a.retry = r
		}
		im.awareness[strings.ToLower(name)] = a
	})
	im.named(as4, "reliability", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "nonRepudiation", "replyPattern")
		r := reliabilityDef{nonRepudiation: boolAttr(el, "nonRepudiation", false), replyPattern: attr(el, "replyPattern")}
		if r.replyPattern != "" && !strings.EqualFold(r.replyPattern, ReplyPatternResponse) {
			im.warn(where, "replyPattern %q is not supported; imported as %q (receipts on the HTTP response)", r.replyPattern, ReplyPatternResponse)
		}
		r.replyPattern = ReplyPatternResponse
		im.reliabilities[strings.ToLower(name)] = r
	})
	for range children(as4, "splitting") {
		im.warn("as4", "splitting (Domibus large-file fragments) is not supported; ignored")
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// endpointOK reports whether a Domibus endpoint is a usable URL (not a
// template placeholder).
func endpointOK(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(s, "<> ")
}
