// Package pmode holds processing modes (P-Modes): the parties this access point
// talks to, the legs (service, action, roles, MPC) it sends and receives on,
// and per leg its security, reliability, retry policy and payload profile.
//
// A Set is every P-Mode of one access-point identity. It is plain data with
// mapstructure/yaml tags so the configuration layer can decode YAML into it;
// ApplyDefaults fills the values a YAML file may leave out, Validate reports
// every problem at once, each naming its key path, and ResolveCertificates
// loads the PEM files parties refer to.
//
// Matching only reads the Set, so one Set serves concurrent calls; do not
// change it while it is in use (build a new one to reload).
//
// # Matching
//
// MatchOutbound picks the leg for a submission from a backend, MatchInbound the
// leg for a received UserMessage. Exactly one leg must match. When none does,
// the *MatchError names, for the closest legs, every field that differed and
// what the leg expects ("No P-Mode found" without a reason is the most common
// complaint about other gateways). When several match, the most specific wins
// (a leg naming the peer beats a leg for any party "*", a leg with the
// message's AgreementRef beats one without); a tie is an error naming both.
//
// Inbound failures carry the EBMS code to answer with:
//
//   - EBMS:0003 ValueInconsistent: the To party is not this access point, or
//     the From party is not known to any leg (Domibus answers 0003 for an
//     unknown party too); a message property whose type contradicts the leg.
//   - EBMS:0001 ValueNotRecognized: a service or action no leg knows.
//   - EBMS:0010 ProcessingModeMismatch: the values are known but no leg takes
//     this combination (roles, MPC, AgreementRef, service and action of
//     different legs), two legs tie, a required message property is missing,
//     or the payloads break the leg's payload profile (as Domibus does).
//
// # Dynamic parties
//
// A leg's Initiators or Responders may hold "*": any party, identified by its
// PartyId of type AnyPartyIDType, as in a four-corner network where the peer
// access point is found through SML/SMP. Matching then accepts any such peer;
// the discovery layer supplies endpoint and certificate.
//
// # Imports and presets
//
// ImportDomibus reads a Domibus P-Mode file (configuration document) and
// SDK builds the P-Modes of Sweden's SDK federation from the values in
// shared/docs/sdk-profile.md, kept in one table in sdk.go.
package pmode
