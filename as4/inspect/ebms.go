package inspect

import (
	"encoding/base64"

	"github.com/as4gw/as4gw/ebms"
)

func ebmsReport(m *ebms.Messaging) *EbMSReport {
	r := &EbMSReport{}
	if u := m.UserMessage; u != nil {
		ur := &UserMessageReport{
			MessageID:      u.MessageInfo.MessageID,
			RefToMessageID: u.MessageInfo.RefToMessageID,
			Timestamp:      u.MessageInfo.Timestamp,
			MPC:            u.MPC,
			From:           partyReport(u.PartyInfo.From),
			To:             partyReport(u.PartyInfo.To),
			Service:        u.CollaborationInfo.Service.Value,
			ServiceType:    u.CollaborationInfo.Service.Type,
			Action:         u.CollaborationInfo.Action,
			ConversationID: u.CollaborationInfo.ConversationID,
		}
		if a := u.CollaborationInfo.AgreementRef; a != nil {
			ur.AgreementRef, ur.PMode = a.Value, a.PMode
		}
		if len(u.MessageProperties) > 0 {
			ur.MessageProperties = map[string]string{}
			for _, p := range u.MessageProperties {
				ur.MessageProperties[p.Name] = p.Value
			}
		}
		for _, p := range u.PayloadInfo {
			pr := PartInfoReport{Href: p.Href}
			if len(p.PartProperties) > 0 {
				pr.Properties = map[string]string{}
				for _, pp := range p.PartProperties {
					pr.Properties[pp.Name] = pp.Value
				}
			}
			ur.Parts = append(ur.Parts, pr)
		}
		r.UserMessage = ur
	}
	for _, s := range m.SignalMessages {
		sr := SignalReport{
			MessageID:      s.MessageInfo.MessageID,
			RefToMessageID: s.MessageInfo.RefToMessageID,
			Timestamp:      ebms.FormatTimestamp(s.MessageInfo.Timestamp),
		}
		switch {
		case s.Receipt != nil:
			sr.Kind = "receipt"
			if nri := s.Receipt.NonRepudiationInformation; nri != nil {
				for _, p := range nri.Parts {
					if p.Reference != nil {
						sr.NRIReferences = append(sr.NRIReferences, p.Reference.URI+" "+base64.StdEncoding.EncodeToString(p.Reference.DigestValue))
					}
				}
			}
		case len(s.Errors) > 0:
			sr.Kind = "error"
			for _, e := range s.Errors {
				line := string(e.ErrorCode) + " " + string(e.Severity) + " " + e.ShortDescription
				if e.ErrorDetail != "" {
					line += ": " + e.ErrorDetail
				} else if e.Description != nil && e.Description.Text != "" {
					line += ": " + e.Description.Text
				}
				sr.Errors = append(sr.Errors, line)
			}
		case s.PullRequest != nil:
			sr.Kind = "pullRequest"
			sr.MPC = s.PullRequest.EffectiveMPC()
		default:
			sr.Kind = "unknown"
		}
		r.SignalMessages = append(r.SignalMessages, sr)
	}
	return r
}

func partyReport(p ebms.Party) PartyReport {
	r := PartyReport{Role: p.Role}
	for _, id := range p.PartyIDs {
		v := id.Value
		if id.Type != "" {
			v = id.Type + "::" + v
		}
		r.PartyIDs = append(r.PartyIDs, v)
	}
	return r
}
