// Package xhe reads and checks the OASIS Exchange Header Envelope (XHE) 1.0 that every SDK
// payload travels in, as DIGG's "Kuverteringsprofil XHE v1.0" profiles it, and ties the
// envelope to the AS4 headers around it.
//
// The package is pure: Parse reads one io.Reader and nothing else touches the outside world.
//
// # Reading
//
// Parse streams the XML through encoding/xml's tokenizer and keeps only the envelope itself in
// memory: everything outside xha:PayloadContent, the root's ds:Signature and the (forbidden)
// ext:XHEExtensions. Of the payload content it keeps a summary (its apex element names,
// whether it holds text). Because encoding/xml buffers a whole text run as one token, a
// filter in front of it (textElider) passes every text run's first 64 KiB (more if
// MaxValueBytes is larger) and drops the rest after checking it as the decoder would (UTF-8,
// XML characters, references); markup always passes whole. A 100 MB CipherValue therefore
// costs kilobytes, not hundreds of megabytes. A cut in an envelope value is a MaxValueBytes
// limit error; line and column numbers in errors after a cut run are those of the shortened
// stream.
//
// Parse rejects a DOCTYPE or any other markup declaration, processing instructions other than
// the XML declaration (anywhere, payload included), encodings other than UTF-8, unbound
// namespace prefixes, duplicate attributes, input beyond Limits, and a document element other
// than {XHE namespace}XHE.
//
// # Rules
//
// (*Envelope).Check applies every rule below and reports all violations at once, as an *Error
// of KindMalformed whose Problems name the element path and the rule:
//
//	XHE/Header/ID: "abc" is not a UUID [SDK-UUID]
//
// Rule ids and their sources:
//
//	R1-XHE .. R14-XHE  DIGG's schematron for Kuverteringsprofil XHE v1.0
//	                   (DIGG-XHE-Business-Rules.scmt, diggsweden/sdk-docs), same ids:
//	  R1   elements the profile leaves out must not be used: ext:XHEExtensions, ProfileID,
//	       ProfileExecutionID, BusinessScope/ExternalReference and, in Payload, Description,
//	       CustomizationID, ProfileID, ProfileExecutionID, ValidationTypeCode,
//	       InstanceEncryptionMethod, InstanceHashValue, InstanceDecryption*ExternalReference,
//	       RelevantExternalReference
//	  R2   no empty elements (and no empty attributes) outside PayloadContent; elements in the
//	       XML Encryption and XML Signature namespaces are exempt
//	  R3   CustomizationID is urn:fdc:digg.se:edelivery:xhe:1
//	  R4-8 BusinessScope has criteria DOCUMENTID, DOCUMENTID_SCHEME, PROCESSID,
//	       PROCESSID_SCHEME and FEDERATIONID
//	  R9   XHEVersionID is 1.0
//	  R10  FromParty's PartyIdentification/ID has schemeID iso6523-actorid-upis
//	  R11  the same for ToParty (the published schematron tests FromParty twice; we apply
//	       the rule to ToParty as its message says)
//	  R12  InstanceEncryptionIndicator true: PayloadContent holds xenc:EncryptedData
//	  R13  InstanceEncryptionIndicator false: PayloadContent holds no xenc:EncryptedData
//	  R14  cardinalities: CustomizationID, a BusinessScopeCriterion, FromParty, one
//	       PartyIdentification in FromParty and in ToParty, exactly one Payload with
//	       DocumentTypeCode, ContentTypeCode and PayloadContent
//	XHE-XSD            the OASIS XHE 1.0 schema (XHE-1.0.xsd and its model): XHEVersionID,
//	                   Header, Header/ID and Header/CreationDateTime mandatory; single
//	                   elements at most once; the root's children in schema order; only XHE
//	                   elements where XHE puts them; basic components hold text only;
//	                   criterion TypeCode and Value, PartyIdentification/ID and
//	                   InstanceEncryptionIndicator (an xsd:boolean) present; PayloadContent
//	                   holds at most one element, not from the XHE aggregate namespace;
//	                   CreationDateTime is an xsd:dateTime
//	SDK-UUID           Header/ID is a UUID (shared/docs/sdk-profile.md, "Business envelope")
//	SDK-ZONE           CreationDateTime carries a time zone (same section)
//	SDK-PARTY          exactly one FromParty and one ToParty (same section)
//	SDK-PARTICIPANT    party ids are ICD:identifier with ICD 0203, 0007 or 0088
//	                   (sdk-profile.md, "Addressing and discovery")
//	AP-SCOPE-UNIQUE    each of the five criteria at most once: the access point derives AS4
//	                   headers from them and two different DOCUMENTIDs would be ambiguous
//	                   (our rule; the schematron only asks for one to exist)
//	SDK-TRANSPORT      (Derive only) DOCUMENTID_SCHEME busdox-docid-qns, PROCESSID_SCHEME
//	                   urn:fdc:digg.se:edelivery:process and a DOCUMENTID ending in
//	                   ::tm-base-ext-sigenc, the only transport model SDK carries
//	                   (sdk-profile.md, "Transport profile")
//	SDK-CONSISTENCY    (CheckAgainst only) the AS4 headers agree with the envelope
//
// Values are compared after trimming XML white space, as the schematron's normalize-space
// does. Participant identifiers and the conversation id are compared case-insensitively
// (ISO 6523 participant ids and UUIDs are case-insensitive); everything else exactly.
//
// # Mapping to AS4
//
// Derive (submission) and CheckAgainst (receipt) use one mapping, read off DIGG's sample
// envelopes and the SDK transport profile:
//
//	eb:Property originalSender  = Header/FromParty/PartyIdentification/ID (type = @schemeID)
//	eb:Property finalRecipient  = Header/ToParty/PartyIdentification/ID   (type = @schemeID)
//	eb:Service                  = criterion PROCESSID        (type = PROCESSID_SCHEME)
//	eb:Action                   = DOCUMENTID_SCHEME "::" DOCUMENTID
//	eb:ConversationId           = Header/ID
//
// DIGG's DOCUMENTID already ends in the transport model (…::messagePayload##3.0::tm-base-ext-sigenc),
// so the action is busdox-docid-qns::urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base-ext-sigenc,
// exactly the SDK message action. Derive never appends the suffix: a receiving access point
// compares the action with the envelope, so an appended suffix would make the message
// contradict its own envelope at C3.
//
// # Errors and ebMS codes
//
// Every error from Parse, Check, Derive and CheckAgainst that concerns the envelope is an
// *Error whose Kind tells the MSH what to answer (EBMSError builds the signal):
//
//	KindMalformed      not XML, over a limit, or a profile rule broken: EBMS:0004 (Other),
//	                   failure, ErrorDetail naming the problems. The profile says "log and
//	                   delete, do not pass on" but names no code; EBMS:0004 is ebMS's code
//	                   for a failure no other code describes.
//	KindContradiction  valid envelope that disagrees with the AS4 headers: EBMS:0004,
//	                   ErrorDetail NOT_SERVICED (the profile treats it as a wrong recipient
//	                   or service).
//	KindUnsupported    valid envelope for a document id scheme, process scheme or transport
//	                   model SDK does not carry: EBMS:0004 NOT_SERVICED.
//
// In every case the message is not delivered.
package xhe
