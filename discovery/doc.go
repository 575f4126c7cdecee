// Package discovery finds the receiving access point for a recipient and
// document type: a static override per participant, or the SDK's dynamic
// discovery through the SML (eDelivery BDXL: a U-NAPTR record under the
// federation's DNS zone) and the recipient's SMP (OASIS BDXR SMP 1.0, signed
// ServiceMetadata), with a cache.
//
// The flow of Resolver.Resolve for a participant, document type and process:
//
//  1. A static endpoint configured for the participant wins; it must list
//     the document type.
//  2. The cache answers, positively for up to Cache.TTL (never past the
//     endpoint's expiration or certificate), negatively (not registered,
//     document type not supported, no endpoint) for Cache.NegativeTTL.
//  3. BDXLName(participant, zone) is queried for NAPTR records; the
//     "U"/"Meta:SMP" record with the lowest order/preference gives the SMP
//     URL through its regexp. NXDOMAIN means not registered; no answer
//     means the SML is unreachable.
//  4. The ServiceGroup must exist (else not registered) and reference the
//     document type (else not supported).
//  5. The SignedServiceMetadata is parsed with limits (no DTD, no entities),
//     its enveloped XML signature is verified (inclusive or exclusive C14N,
//     RSA/ECDSA with SHA-2, the one Reference pointing at the document
//     element), its signer validated against the SMP trust store with
//     revocation, and only then read: the process must be listed, and an
//     endpoint for the transport profile digg-transport-as4-v1_0, active
//     now, gives the URL and the receiver's certificate.
//  6. With EndpointTrust set, the receiver's certificate is validated
//     against the AS4 trust store (chain, validity, revocation) on every
//     call, so a revoked receiver is refused at once (SDK TF-02).
//
// Every failure is a *LookupError whose Kind maps to a sentinel (ErrNot-
// Registered, ErrSMLUnreachable, ...), a stable Code for backend events and
// a Reason in plain words. The Observer sees each stage's outcome and
// latency with bounded labels.
//
// Package federationtest runs a loopback SML (DNS) and SMP for tests.
package discovery
