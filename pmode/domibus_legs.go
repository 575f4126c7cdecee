package pmode

import (
	"fmt"
	"strings"

	"github.com/as4gw/as4gw/ebms"
	"github.com/beevik/etree"
)

func (im *domibusImporter) readParties(parties *etree.Element) {
	im.partyIDTypes, im.partyNames = map[string]string{}, map[string]string{}
	im.checkChildren(parties, "parties", "partyIdTypes", "party")
	types := child(parties, "partyIdTypes")
	im.checkChildren(types, "partyIdTypes", "partyIdType")
	im.named(types, "partyIdType", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "value")
		im.partyIDTypes[strings.ToLower(name)] = attr(el, "value")
	})
	im.named(parties, "party", func(el *etree.Element, name, where string) {
		im.checkAttrs(el, where, "name", "endpoint", "allowChunking", "userName", "password")
		if v := attr(el, "allowChunking"); v != "" && boolAttr(el, "allowChunking", false) {
			im.warn(where, "allowChunking=%q: HTTP chunking is always allowed by as4gw", v)
		}
		if attr(el, "userName") != "" || attr(el, "password") != "" {
			im.warn(where, "userName/password (HTTP basic authentication towards the party) are not P-Mode settings in as4gw; ignored")
		}
		if im.party(name) != "" {
			im.warn(where, "a second party with this name; ignored")
			return
		}
		p := Party{Name: name}
		if ep := attr(el, "endpoint"); ep != "" {
			if endpointOK(ep) {
				p.Endpoint = ep
			} else {
				im.warn(where, "endpoint %q is not a URL (a template placeholder?); left empty: set it, or let discovery find the endpoint", ep)
			}
		}
		im.checkChildren(el, where, "identifier")
		for _, idEl := range children(el, "identifier") {
			im.checkAttrs(idEl, where+" identifier", "partyId", "partyIdType")
			id := PartyID{Value: attr(idEl, "partyId")}
			if id.Value == "" {
				im.warn(where, "an identifier without partyId; ignored")
				continue
			}
			if tn := attr(idEl, "partyIdType"); tn != "" {
				typ, ok := im.partyIDTypes[strings.ToLower(tn)]
				if !ok {
					im.warn(where, "identifier %q: partyIdType %q is not defined in partyIdTypes; imported without type", id.Value, tn)
				}
				id.Type = typ
			}
			p.PartyIDs = append(p.PartyIDs, id)
		}
		if len(p.PartyIDs) == 0 {
			im.warn(where, "has no identifier: messages cannot name it")
		}
		im.set.Parties = append(im.set.Parties, p)
		im.partyOrder = append(im.partyOrder, name)
		im.partyNames[strings.ToLower(name)] = name
	})
}

// party returns the canonical name of a party (case-insensitive), or "".
func (im *domibusImporter) party(name string) string {
	return im.partyNames[strings.ToLower(name)]
}

func (im *domibusImporter) readLegConfigurations(lcs *etree.Element) {
	im.legConfigs, im.legUsed = map[string]*etree.Element{}, map[string]bool{}
	im.checkChildren(lcs, "legConfigurations", "legConfiguration")
	im.named(lcs, "legConfiguration", func(el *etree.Element, name, where string) {
		key := strings.ToLower(name)
		if _, dup := im.legConfigs[key]; dup {
			im.warn(where, "a second legConfiguration with this name; ignored")
			return
		}
		im.legConfigs[key] = el
		im.legOrder = append(im.legOrder, name)
	})
}

// processLeg is one legConfiguration as used by one process.
type processLeg struct {
	process, legName   string
	config             *etree.Element
	initiators         []string
	responders         []string
	initRole, respRole string
	agreement          AgreementRef
}

func (im *domibusImporter) readProcesses(procs []*etree.Element) {
	var pls []processLeg
	uses := map[string]int{}
	for _, proc := range procs {
		name := attr(proc, "name")
		where := fmt.Sprintf("process %q", name)
		im.checkAttrs(proc, where, "name", "mep", "binding", "initiatorRole", "responderRole", "agreement")
		im.checkChildren(proc, where, "initiatorParties", "responderParties", "legs")
		if mep := im.meps[strings.ToLower(attr(proc, "mep"))]; mep != MEPOneWay {
			im.warn(where, "mep %q (%s) is not supported (one-way only); its legs were not imported", attr(proc, "mep"), show(mep))
			continue
		}
		if b := im.bindings[strings.ToLower(attr(proc, "binding"))]; b != BindingPush {
			im.warn(where, "binding %q (%s) is not supported (push only); its legs were not imported", attr(proc, "binding"), show(b))
			continue
		}
		base := processLeg{process: name}
		base.initiators = im.processParties(proc, where, "initiatorParties", "initiatorParty")
		base.responders = im.processParties(proc, where, "responderParties", "responderParty")
		if !contains(base.initiators, im.set.Self) && !contains(base.responders, im.set.Self) &&
			!contains(base.initiators, AnyParty) && !contains(base.responders, AnyParty) {
			im.warn(where, "our party %q is neither initiator nor responder; its legs were not imported", im.set.Self)
			continue
		}
		base.initRole = im.role(where, "initiatorRole", attr(proc, "initiatorRole"))
		base.respRole = im.role(where, "responderRole", attr(proc, "responderRole"))
		if an := attr(proc, "agreement"); an != "" {
			ag, ok := im.agreements[strings.ToLower(an)]
			if !ok {
				im.warn(where, "agreement %q is not defined in agreements; no AgreementRef imported", an)
			}
			base.agreement = ag
		}
		legs := child(proc, "legs")
		im.checkChildren(legs, where+" legs", "leg")
		for _, l := range children(legs, "leg") {
			ln := attr(l, "name")
			cfg, ok := im.legConfigs[strings.ToLower(ln)]
			if !ok {
				im.warn(where, "leg %q names no legConfiguration; ignored", ln)
				continue
			}
			pl := base
			pl.legName, pl.config = attr(cfg, "name"), cfg
			pls = append(pls, pl)
			uses[strings.ToLower(pl.legName)]++
			im.legUsed[strings.ToLower(pl.legName)] = true
		}
	}
	for _, pl := range pls {
		name := pl.legName
		if uses[strings.ToLower(name)] > 1 {
			name += "@" + pl.process // the same legConfiguration in several processes
		}
		if leg, ok := im.leg(pl, name); ok {
			im.set.Legs = append(im.set.Legs, leg)
		}
	}
	for _, n := range im.legOrder {
		if !im.legUsed[strings.ToLower(n)] {
			im.warn(fmt.Sprintf("legConfiguration %q", n), "is used by no importable process; not imported")
		}
	}
}

// processParties reads initiatorParties or responderParties. None listed means
// any party: Domibus's dynamic discovery P-Modes leave them out.
func (im *domibusImporter) processParties(proc *etree.Element, where, list, item string) []string {
	el := child(proc, list)
	im.checkChildren(el, where+" "+list, item)
	var names []string
	seen := map[string]bool{}
	for _, p := range children(el, item) {
		n := im.party(attr(p, "name"))
		if n == "" {
			im.warn(where, "%s %q is not defined in parties; ignored", item, attr(p, "name"))
			continue
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		im.warn(where, "no %s: imported as any party (%q), as for Domibus dynamic discovery", list, AnyParty)
		names = []string{AnyParty}
	}
	return names
}

func (im *domibusImporter) role(where, attrName, name string) string {
	v, ok := im.roles[strings.ToLower(name)]
	if !ok || v == "" {
		dflt := ebms.RoleInitiator
		if attrName == "responderRole" {
			dflt = ebms.RoleResponder
		}
		im.warn(where, "%s %q is not defined in roles; the ebMS default role imported", attrName, name)
		return dflt
	}
	return v
}

// leg builds one leg; false (with a warning) when it lacks service or action.
func (im *domibusImporter) leg(pl processLeg, name string) (Leg, bool) {
	el := pl.config
	where := fmt.Sprintf("legConfiguration %q", pl.legName)
	im.checkAttrs(el, where, "name", "service", "action", "defaultMpc", "reliability", "security",
		"receptionAwareness", "propertySet", "payloadProfile", "errorHandling", "compressPayloads", "splitting")
	im.checkChildren(el, where)
	l := Leg{
		Name: name, MEP: MEPOneWay, Binding: BindingPush,
		Initiators: pl.initiators, Responders: pl.responders,
		InitiatorRole: pl.initRole, ResponderRole: pl.respRole,
		AgreementRef: pl.agreement,
		Compression:  boolAttr(el, "compressPayloads", false),
	}
	svc, ok := im.services[strings.ToLower(attr(el, "service"))]
	if !ok {
		im.warn(where, "service %q is not defined in services; leg not imported", attr(el, "service"))
		return l, false
	}
	l.Service = svc
	if l.Action, ok = im.actions[strings.ToLower(attr(el, "action"))]; !ok {
		im.warn(where, "action %q is not defined in actions; leg not imported", attr(el, "action"))
		return l, false
	}
	if n := attr(el, "defaultMpc"); n != "" {
		if l.MPC, ok = im.mpcs[strings.ToLower(n)]; !ok {
			im.warn(where, "defaultMpc %q is not defined in mpcs; the ebMS default MPC imported", n)
		}
	}
	if n := attr(el, "security"); n != "" {
		if l.Security, ok = im.securities[strings.ToLower(n)]; !ok {
			im.warn(where, "security %q is not defined in securities; imported as sign and encrypt", n)
			l.Security = Security{Sign: true, Encrypt: true, RequireSignedReceipt: true}
		}
	} else {
		im.warn(where, "no security: imported as sign and encrypt (eDelivery AS4)")
		l.Security = Security{Sign: true, Encrypt: true, RequireSignedReceipt: true}
	}
	// AS4 one-way push always answers with a receipt on the response.
	l.Reliability.Receipts = true
	l.Reliability.ReplyPattern = ReplyPatternResponse
	if n := attr(el, "reliability"); n != "" {
		r, ok := im.reliabilities[strings.ToLower(n)]
		if !ok {
			im.warn(where, "reliability %q is not defined in as4; receipts without non-repudiation imported", n)
		}
		l.Reliability.NonRepudiation = r.nonRepudiation
	}
	if l.Reliability.NonRepudiation && !l.Security.Sign {
		im.warn(where, "nonRepudiation needs a signing security policy; imported without non-repudiation")
		l.Reliability.NonRepudiation = false
	}
	if n := attr(el, "receptionAwareness"); n != "" {
		a, ok := im.awareness[strings.ToLower(n)]
		if !ok {
			im.warn(where, "receptionAwareness %q is not defined in as4; SEND_ONCE without duplicate detection imported", n)
		}
		l.Reliability.Retry, l.Reliability.DuplicateDetection = a.retry, a.duplicate
	}
	if n := attr(el, "propertySet"); n != "" {
		rules, ok := im.propertySets[strings.ToLower(n)]
		if !ok {
			im.warn(where, "propertySet %q is not defined in properties; no property rules imported", n)
		}
		l.Properties = append([]PropertyRule(nil), rules...)
	}
	if n := attr(el, "payloadProfile"); n != "" {
		pp, ok := im.payloadProfiles[strings.ToLower(n)]
		if !ok {
			im.warn(where, "payloadProfile %q is not defined in payloadProfiles; any payloads accepted", n)
		}
		l.PayloadProfile = PayloadProfile{Parts: append([]PayloadPart(nil), pp.Parts...), MaxSize: pp.MaxSize}
	}
	if n := attr(el, "errorHandling"); n != "" && !im.errorHandlings[strings.ToLower(n)] {
		im.warn(where, "errorHandling %q is not defined in errorHandlings", n)
	}
	if n := attr(el, "splitting"); n != "" {
		im.warn(where, "splitting %q (large-file fragments) is not supported; ignored", n)
	}
	return l, true
}
