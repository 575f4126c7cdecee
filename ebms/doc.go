// Package ebms holds the ebMS 3.0 message model (the eb:Messaging SOAP header with its
// UserMessage and SignalMessage units: Receipt, Error, PullRequest), its XML codec on
// github.com/beevik/etree, and the table of standard EBMS error codes.
//
// The package is pure: it reads and builds XML trees and never does I/O. The SOAP/MIME layer
// (as4/soap) hands Decode the eb:Messaging element of a parsed envelope, and wssec reads the
// same tree, so what is verified is what is decoded.
//
// # Decoding rules
//
// Elements are matched by namespace URI and local name, never by prefix: eb:, eb3:, ns2: or a
// default namespace all work; a prefix that is not declared at all is a structural error.
// Unknown elements in other namespaces are ignored, except inside eb:SignalMessage and
// eb:Receipt (the schema's extension points), where they are kept as detached copies that
// carry their in-scope namespace declarations. Unknown elements in the ebMS namespace are
// structural errors (inside eb:Receipt they are kept like any other content). Element order is
// not checked. Surrounding XML whitespace of every text and attribute value is trimmed (real
// peers pretty-print their headers, e.g. an eb:Action ending in a newline and spaces).
//
// A failed check returns a *ValidationError carrying the EBMS code a receiving MSH should answer
// with and the path of the offending element. Codes are chosen like this:
//
//   - EBMS:0009 InvalidHeader for structure: a required element or attribute is missing or
//     empty, a single element appears twice, an unknown ebMS element appears, a prefix is
//     undeclared, a SignalMessage or Receipt is empty, or eb:Messaging holds no message unit or
//     more than one eb:UserMessage (Core allows one UserMessage per message; bundling is Part 2,
//     which AS4 does not use; phase4 answers EBMS:0003 here). Several SignalMessages are
//     accepted, as the schema allows them.
//   - EBMS:0001 ValueNotRecognized for a value that does not parse as its type: a timestamp
//     that is not an xsd:dateTime, a mustUnderstand that is not a boolean, an error severity
//     other than failure/warning, a DigestValue that is not base64, a malformed MessageId.
//   - EBMS:0003 ValueInconsistent for values that parse but break a rule of the specification:
//     a PartyId or Service without a type attribute whose value is not a URI (ebMS 3.0 Core,
//     eb:PartyId and eb:Service), a Receipt without RefToMessageId, two PartInfo elements with
//     the same href.
//
// # Leniency (real interoperability beats purity)
//
// Every wire message in the shared interop vectors must decode. They led to these rules:
//
//   - MessageId: Core asks for an RFC 2822 msg-id without angle brackets (id-left "@" id-right).
//     phase4, AS4.NET and Domibus send ids without "@" (a bare UUID, "user-<uuid>", "-Dom00302-")
//     or with ":" in id-right ("...@UK:APUK01"). Decode therefore only requires a non-empty value
//     of visible US-ASCII characters (0x21-0x7E) without '<' or '>', which keeps ids safe for
//     logs, store keys and Content-IDs. DecodeOptions.StrictMessageIDs and ValidateMessageID
//     apply the full RFC 2822 syntax; ids this gateway generates should pass it.
//   - Timestamp: xsd:dateTime with any number of fractional digits (AS4.NET sends 7, phase4 9),
//     with 'Z', with a numeric offset (+01:00, seen from phase4) or without a zone, which is
//     read as UTC because Core says the value is UTC. Decoded times are in UTC. Encode
//     always writes UTC with millisecond precision and 'Z'.
//   - PartyId and Service without type: the value must be an RFC 3986 URI-reference, not
//     necessarily an absolute URI. Holodeck, Flame and phase4 send bare names such as
//     "flame-c2", "APP_1000000101" or "SRV_SIMPLE_ONEWAY". What is rejected is what the rule is
//     for: values with spaces or other characters a URI cannot hold, and values like
//     "0088:5798000000001" whose part before ':' cannot be a URI scheme.
//   - mustUnderstand: accepted from SOAP 1.2 or SOAP 1.1 namespaces under any prefix, with the
//     values 1/true/0/false. A missing attribute means false (phase4's ErrorMessage.xml has none).
//   - Error severity and category are matched case-insensitively and stored in their canonical
//     spelling (phase4 sends "Failure", Domibus "CONTENT"); unknown categories are kept as sent.
//   - An empty refToMessageInError attribute is the same as an absent one.
//   - A Receipt may hold ebbp:NonRepudiationInformation, a copy of eb:UserMessage (Domibus,
//     Harmony) or a whole SOAP envelope holding the UserMessage copy (phase4 SOAP 1.1). In the
//     last case the envelope is kept unchanged in Receipt.Other and its UserMessage is decoded
//     as well. ds:Reference elements outside the XMLDSig namespace (/n software) are decoded and
//     flagged, so the receipt verifier can reject them.
package ebms
