package wssec

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/as4gw/as4gw/ebms"
)

// NonRepudiationReceipt builds the ebMS Receipt signal for a verified message:
// its NonRepudiationInformation repeats, unchanged, every ds:Reference of the
// received message's signature (AS4 §5.1.8 / ebBP signals). The caller signs the
// resulting message (eb:Messaging and Body) with Sign. verified must come
// from a Verify run without VerifyOptions.SkipAttachmentDigests: a receipt
// vouches for every digest it repeats.
func NonRepudiationReceipt(verified *Result, refToMessageID, receiptMessageID string, now time.Time) *ebms.Messaging {
	nri := &ebms.NonRepudiationInformation{}
	for _, r := range verified.References {
		ref := r.Reference
		nri.Parts = append(nri.Parts, ebms.MessagePartNRInformation{Reference: &ref})
	}
	return &ebms.Messaging{
		MustUnderstand: true,
		SignalMessages: []*ebms.SignalMessage{{
			MessageInfo: ebms.MessageInfo{
				Timestamp:      now.UTC(),
				MessageID:      receiptMessageID,
				RefToMessageID: refToMessageID,
			},
			Receipt: &ebms.Receipt{NonRepudiationInformation: nri},
		}},
	}
}

// CheckReceipt checks a received, already signature-verified Receipt against
// the message we sent: it must refer to sentMessageID and its
// NonRepudiationInformation must hold exactly the references we signed (same
// URIs, digest algorithms and digest values, no more, no fewer). Any failure is
// EBMS:0302 InvalidReceipt.
func CheckReceipt(m *ebms.Messaging, sentMessageID string, signed []ebms.Reference) error {
	if m == nil || len(m.SignalMessages) != 1 || m.SignalMessages[0].Receipt == nil {
		return receiptError("receipt", "the response holds no single Receipt signal")
	}
	sm := m.SignalMessages[0]
	if sm.MessageInfo.RefToMessageID != sentMessageID {
		return receiptError("receipt-ref", "the Receipt refers to %q, we sent %q", sm.MessageInfo.RefToMessageID, sentMessageID)
	}
	nri := sm.Receipt.NonRepudiationInformation
	if nri == nil {
		return receiptError("receipt-nri", "the Receipt carries no NonRepudiationInformation")
	}
	if len(nri.Parts) != len(signed) {
		return receiptError("receipt-nri", "the Receipt lists %d references, we signed %d", len(nri.Parts), len(signed))
	}
	used := make([]bool, len(signed))
	for i, p := range nri.Parts {
		if p.Reference == nil {
			return receiptError("receipt-nri", "MessagePartNRInformation %d holds no ds:Reference", i+1)
		}
		if p.NonDSReference {
			return receiptError("receipt-nri", "MessagePartNRInformation %d: Reference is in namespace %q, not XML-DSig", i+1, p.ReferenceNamespace)
		}
		match := -1
		for j, s := range signed {
			if !used[j] && sameReference(*p.Reference, s) {
				match = j
				break
			}
		}
		if match < 0 {
			return receiptError("receipt-digest", "the Receipt's reference %q (%s) matches nothing we signed", p.Reference.URI, describeDigest(*p.Reference))
		}
		used[match] = true
	}
	return nil
}

func sameReference(a, b ebms.Reference) bool {
	return a.URI == b.URI && a.DigestAlgorithm == b.DigestAlgorithm &&
		len(a.DigestValue) == len(b.DigestValue) &&
		subtle.ConstantTimeCompare(a.DigestValue, b.DigestValue) == 1
}

func describeDigest(r ebms.Reference) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %x", r.DigestAlgorithm, r.DigestValue)
	return b.String()
}
