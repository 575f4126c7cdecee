package pmode

import (
	"fmt"
	"testing"
)

func BenchmarkMatchInboundSDK(b *testing.B) {
	s := mustSDK(b)
	u := sdkMessage(SDKActionMessage)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.MatchInbound(u); err != nil {
			b.Fatal(err)
		}
	}
}

// largeSet is a federation-sized set configured Domibus style: 500 parties and
// 50 legs that each list every party.
func largeSet() *Set {
	s := &Set{Self: "p0"}
	var names []string
	for i := range 500 {
		n := fmt.Sprintf("p%d", i)
		names = append(names, n)
		s.Parties = append(s.Parties, Party{Name: n, PartyIDs: []PartyID{{Value: fmt.Sprintf("urn:example:ap:%d", i)}}})
	}
	for i := range 50 {
		s.Legs = append(s.Legs, Leg{Name: fmt.Sprintf("leg%d", i), Initiators: names, Responders: names,
			Service: Service{Value: "urn:example:service"}, Action: fmt.Sprintf("action-%d", i)})
	}
	s.ApplyDefaults()
	return s
}

func BenchmarkMatchInboundLarge(b *testing.B) {
	s := largeSet()
	u := blueRedMessage("action-49")
	u.PartyInfo.From.PartyIDs[0].Value, u.PartyInfo.From.PartyIDs[0].Type = "urn:example:ap:499", ""
	u.PartyInfo.To.PartyIDs[0].Value, u.PartyInfo.To.PartyIDs[0].Type = "urn:example:ap:0", ""
	u.CollaborationInfo.Service.Value, u.CollaborationInfo.Service.Type = "urn:example:service", ""
	u.PayloadInfo = nil
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.MatchInbound(u); err != nil {
				b.Fatal(err)
			}
		}
	})
	bad := *u
	bad.CollaborationInfo.Action = "unknown"
	b.Run("no-match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.MatchInbound(&bad); err == nil {
				b.Fatal("matched")
			}
		}
	})
	b.Run("validate", func(b *testing.B) {
		for b.Loop() {
			if err := s.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
