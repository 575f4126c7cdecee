package ebms

// XML namespaces used in and around the ebMS header.
const (
	// NamespaceEbMS is the ebMS 3.0 core namespace of eb:Messaging and everything inside it.
	NamespaceEbMS = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
	// NamespaceSOAP12 is the SOAP 1.2 envelope namespace (AS4's default).
	NamespaceSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	// NamespaceSOAP11 is the SOAP 1.1 envelope namespace.
	NamespaceSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	// NamespaceWSU is the WS-Security utility namespace of wsu:Id.
	NamespaceWSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	// NamespaceEBBP is the ebBP signals namespace of ebbp:NonRepudiationInformation.
	NamespaceEBBP = "http://docs.oasis-open.org/ebxml-bp/ebbp-signals-2.0"
	// NamespaceDS is the XML Signature namespace of ds:Reference.
	NamespaceDS = "http://www.w3.org/2000/09/xmldsig#"
	// NamespaceExcC14N is the exclusive canonicalization namespace of ec:InclusiveNamespaces.
	NamespaceExcC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
	// NamespaceXML is the namespace bound to the reserved prefix xml (xml:lang).
	NamespaceXML = "http://www.w3.org/XML/1998/namespace"
)

// Values defined by ebMS 3.0 Core.
const (
	// RoleInitiator is the role of the party that starts a message exchange.
	RoleInitiator = NamespaceEbMS + "initiator"
	// RoleResponder is the role of the party that answers it.
	RoleResponder = NamespaceEbMS + "responder"
	// RoleDefault is the role used when the P-Mode names none.
	RoleDefault = NamespaceEbMS + "defaultRole"
	// DefaultMPC is the message partition channel a message without mpc attribute belongs to.
	DefaultMPC = NamespaceEbMS + "defaultMPC"
	// TestService and TestAction mark a test message that must not be delivered (ebMS 3.0 Core).
	TestService = NamespaceEbMS + "service"
	TestAction  = NamespaceEbMS + "test"
)

// Names of eb:PartProperties/eb:Property elements defined by the AS4 profile.
const (
	PartPropertyMimeType        = "MimeType"
	PartPropertyCompressionType = "CompressionType"
	PartPropertyCharacterSet    = "CharacterSet"
)

// Names of eb:MessageProperties/eb:Property elements of the four-corner model (eDelivery, SDK).
const (
	PropertyOriginalSender = "originalSender"
	PropertyFinalRecipient = "finalRecipient"
)
