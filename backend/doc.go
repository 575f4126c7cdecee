// Package backend is the REST API message services ("meddelandetjänster") use to send
// and receive through the gateway: submit a message, follow its status, page through the
// inbox, download payloads, acknowledge, and long-poll for status changes. The OpenAPI 3.1
// document (openapi.yaml, served at GET /api/v1/openapi.yaml) is the contract; a test
// checks that it and the router name the same routes.
//
// # Clients and participants
//
// One gateway serves many organisations. Each Client (a message service) authenticates
// with a bearer token, of which only the SHA-256 is configured, or with a TLS client
// certificate pinned by its SHA-256 fingerprint; the token wins when both are presented.
// A client acts only for its participants:
//
//   - it may submit only with an originalSender among them (else 403 naming originalSender);
//   - it sees an outbound message only when the message's originalSender is one of them,
//     and an inbound message only when its recipient (finalRecipient, else the To party) is
//     one of them. Everything else answers 404 exactly as an unknown id does, so a client
//     cannot even learn that another organisation's message exists;
//   - its inbox, its event stream and its payload downloads follow the same rule.
//
// Participant ids are written "scheme::value" ("iso6523-actorid-upis::0203:malmo.se") or as a
// bare value ("0203:malmo.se"), which gets DefaultParticipantType, the SDK's scheme; see
// ParseParticipant. The same rule applies to originalSender and finalRecipient in a
// submission: an explicit originalSenderType/finalRecipientType wins, else a "scheme::"
// prefix of the value, else the default type. The message is stored (and sent) with that
// type. Because the SDK accepts a missing type on received messages, a participant of the
// default type also matches an inbound message whose finalRecipient has no type at all.
//
// # Message ids and directions
//
// The same MessageId may exist once outbound and (per sending access point) inbound. The
// message endpoints take ?direction=out|in; without it the outbound message is used when
// the client may see it, else the inbound one. Among several visible inbound messages with
// one id (sent by different access points), the oldest not yet downloaded is used, else the
// newest, so that inbox → download → ack works through them in order. Acknowledgement
// applies to inbound messages only.
//
// # Errors
//
// Every error is an RFC 9457 problem (application/problem+json) with type, title, status
// and detail, plus "field" naming the offending input where there is one: a metadata
// member as a path ("originalSender", "payloads[1].mimeType"), a query parameter
// ("cursor"), or a header ("Authorization", "Content-Type"). Bad input never gets a 500.
//
// # Submissions are durable before 202
//
// POST /api/v1/messages reads a multipart/form-data body: first the "metadata" JSON part,
// then one file part per declared payload, named by the payload id, in any order. The
// metadata is checked completely (fields, participant scope, duplicate id, P-Mode leg,
// receiving access point, payload profile) before any payload byte is read, so a bad
// submission fails before a large upload. Each file part is streamed straight into the
// store (never held in memory) under the size limits; after the last part the message is
// stored as SEND_ENQUEUED with store.Submit, and only when that returned (fsync'd) does the
// client get 202. On any failure the staged payload files are discarded.
package backend
