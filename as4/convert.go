package as4

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

// storeMessage turns a received UserMessage into the store's record. Payload
// blobs are filled in by the caller.
func storeMessage(u *ebms.UserMessage, leg *pmode.Leg) store.Message {
	m := store.Message{
		ID:             u.MessageInfo.MessageID,
		LegName:        leg.Name,
		From:           storeParty(u.PartyInfo.From),
		To:             storeParty(u.PartyInfo.To),
		Service:        u.CollaborationInfo.Service.Value,
		ServiceType:    u.CollaborationInfo.Service.Type,
		Action:         u.CollaborationInfo.Action,
		ConversationID: u.CollaborationInfo.ConversationID,
		RefToMessageID: u.MessageInfo.RefToMessageID,
	}
	if a := u.CollaborationInfo.AgreementRef; a != nil {
		m.AgreementRef = a.Value
	}
	for _, p := range u.MessageProperties {
		switch p.Name {
		case ebms.PropertyOriginalSender:
			m.OriginalSender = store.PartyID{ID: p.Value, Type: p.Type}
		case ebms.PropertyFinalRecipient:
			m.FinalRecipient = store.PartyID{ID: p.Value, Type: p.Type}
		default:
			m.Properties = append(m.Properties, store.Property{Name: p.Name, Type: p.Type, Value: p.Value})
		}
	}
	for _, pi := range u.PayloadInfo {
		cid, _ := pi.ContentID()
		sp := store.Payload{ID: cid, ContentID: cid, MimeType: pi.MimeType()}
		if sp.ID == "" {
			sp.ID = pi.Href
		}
		for _, pp := range pi.PartProperties {
			if pp.Name == ebms.PartPropertyMimeType || pp.Name == ebms.PartPropertyCompressionType {
				continue
			}
			sp.Properties = append(sp.Properties, store.Property{Name: pp.Name, Type: pp.Type, Value: pp.Value})
		}
		m.Payloads = append(m.Payloads, sp)
	}
	return m
}

// storeParty takes the first PartyId of an ebMS party.
func storeParty(p ebms.Party) store.PartyID {
	if len(p.PartyIDs) == 0 {
		return store.PartyID{}
	}
	return store.PartyID{ID: p.PartyIDs[0].Value, Type: p.PartyIDs[0].Type}
}

func firstPartyID(p ebms.Party) string {
	if len(p.PartyIDs) == 0 {
		return ""
	}
	return p.PartyIDs[0].Value
}

// userMessage rebuilds the UserMessage of a stored outbound message. The
// MessageId and Timestamp are the stored ones, so a resend is the same
// message (AS4 duplicate elimination depends on it).
func userMessage(m *store.Message, leg *pmode.Leg) *ebms.UserMessage {
	u := &ebms.UserMessage{
		MessageInfo: ebms.MessageInfo{Timestamp: m.Created.UTC(), MessageID: m.ID, RefToMessageID: m.RefToMessageID},
		PartyInfo: ebms.PartyInfo{
			From: ebms.Party{PartyIDs: []ebms.PartyID{{Value: m.From.ID, Type: m.From.Type}}, Role: leg.EffectiveInitiatorRole()},
			To:   ebms.Party{PartyIDs: []ebms.PartyID{{Value: m.To.ID, Type: m.To.Type}}, Role: leg.EffectiveResponderRole()},
		},
		CollaborationInfo: ebms.CollaborationInfo{
			Service:        ebms.Service{Value: m.Service, Type: m.ServiceType},
			Action:         m.Action,
			ConversationID: m.ConversationID,
		},
	}
	if leg.MPC != "" && leg.MPC != ebms.DefaultMPC {
		u.MPC = leg.MPC
	}
	if m.AgreementRef != "" {
		u.CollaborationInfo.AgreementRef = &ebms.AgreementRef{Value: m.AgreementRef, Type: leg.AgreementRef.Type}
	}
	if !m.OriginalSender.IsZero() {
		u.MessageProperties = append(u.MessageProperties, ebms.Property{Name: ebms.PropertyOriginalSender, Type: m.OriginalSender.Type, Value: m.OriginalSender.ID})
	}
	if !m.FinalRecipient.IsZero() {
		u.MessageProperties = append(u.MessageProperties, ebms.Property{Name: ebms.PropertyFinalRecipient, Type: m.FinalRecipient.Type, Value: m.FinalRecipient.ID})
	}
	for _, p := range m.Properties {
		u.MessageProperties = append(u.MessageProperties, ebms.Property{Name: p.Name, Type: p.Type, Value: p.Value})
	}
	return u
}

func fingerprint(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
