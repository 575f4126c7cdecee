package xenc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"mime"
	"net/textproto"
	"slices"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/trust"
)

// Default limits on the encryption elements of one message.
const (
	DefaultMaxEncryptedKeys = 4
	DefaultMaxEncryptedData = 100 // soap.DefaultLimits().MaxParts
)

// DecryptOptions configures DecryptAttachments. The zero value accepts what
// the vectors' peers send and does not require encryption; the P-Mode of an
// eDelivery leg sets RequireEncryption.
type DecryptOptions struct {
	// RequireEncryption makes every MIME attachment mandatory to encrypt: an
	// attachment that no EncryptedData covers, or no EncryptedKey at all,
	// is EBMS:0103. A message without attachments passes (receipts and
	// errors are only signed).
	RequireEncryption bool
	// StrictRecipient refuses (EBMS:0102) an EncryptedKey whose KeyInfo
	// cannot be resolved to one of our certificates, instead of trying our
	// keys.
	StrictRecipient bool
	// ExtraIdentities are further keys to decrypt with, e.g. the previous
	// certificate during a rollover. The one passed to DecryptAttachments
	// comes first.
	ExtraIdentities []*trust.Identity
	// Lookup resolves IssuerSerial/SKI/thumbprint references to certificates
	// other than ours (partner certificates), so that a key meant for
	// someone else is recognised as such. Our certificates are always
	// consulted.
	Lookup wssec.CertificateLookup
	// DataAlgorithms and KeyTransports are the allow-lists; nil means
	// DefaultDataAlgorithms and DefaultKeyTransports.
	DataAlgorithms []string
	KeyTransports  []string
	// MaxEncryptedKeys and MaxEncryptedData cap the elements in the header
	// (0 means the defaults).
	MaxEncryptedKeys int
	MaxEncryptedData int
}

// DecryptResult says what DecryptAttachments decrypted.
type DecryptResult struct {
	// Keys are the EncryptedKeys used, in document order.
	Keys []DecryptedKey
	// Parts are the attachments decrypted, in EncryptedData document order.
	Parts []DecryptedPart
}

// DecryptedKey describes one EncryptedKey that was unwrapped.
type DecryptedKey struct {
	ID     string
	Params aesgcm.OAEPParams
	// Reference says how the KeyInfo named the recipient; "" when it could
	// not be resolved.
	Reference wssec.TokenReference
	// RecipientIdentified is true when the KeyInfo resolved to Certificate;
	// false when our keys were tried because it could not be resolved.
	RecipientIdentified bool
	// Certificate is our certificate whose key unwrapped it.
	Certificate *x509.Certificate
}

// DecryptedPart describes one attachment that was replaced by its
// plaintext.
type DecryptedPart struct {
	ContentID       string
	EncryptedDataID string
	EncryptedKeyID  string
	Algorithm       string
	// ContentType is the restored Content-Type (EncryptedData MimeType);
	// EncryptedContentType the one the part arrived with.
	ContentType          string
	EncryptedContentType string
	// EncryptedSize and Size are the part's length before and after.
	EncryptedSize int64
	Size          int64
}

// Encrypted reports whether the attachment with that Content-ID was
// decrypted.
func (r *DecryptResult) Encrypted(contentID string) bool {
	for _, p := range r.Parts {
		if p.ContentID == contentID {
			return true
		}
	}
	return false
}

// DecryptAttachments decrypts every attachment that an xenc:EncryptedData in
// the wsse:Security header covers, with id's private key (and
// opts.ExtraIdentities'). A part held in memory is decrypted into memory; a
// spooled part's GCM tag is checked and its plaintext digested in one pass,
// and from then on the attachment decrypts its file while it is read (the
// tag is checked again at the end of every read, so a file altered in
// between fails the read). Nothing unverified is ever released. The
// soap.Attachment's Size, SHA256, ContentType and Content-Type header are
// updated, so wssec.Verify, given wssec.FromSOAP(msg) taken afterwards,
// digests the decrypted, still compressed octets. Message.Close removes the
// files and forgets the keys.
//
// All parts are decrypted before any is replaced: when an error is returned
// the message is unchanged.
// Errors are *wssec.Error with EBMS:0102 or EBMS:0103 (see the package
// documentation) or, for local failures (spool I/O, a key that cannot
// decrypt RSA), ordinary errors.
func DecryptAttachments(env wssec.Envelope, msg *soap.Message, id *trust.Identity, opts DecryptOptions) (*DecryptResult, error) {
	if msg == nil {
		return nil, errors.New("xenc: no message")
	}
	dec, err := PrepareDecryption(env, id, opts)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	return dec.Apply(msg)
}

// Decryption is the decryption of one message prepared from its Security
// header alone: every EncryptedData checked and its key unwrapped. It lets
// the MSH decrypt a large attachment while it arrives (DecryptStream), and
// then finishes with the parts that were read into memory or spooled
// (Apply). Close forgets the keys.
type Decryption struct {
	requireEncryption bool
	parts             []*encryptedPart
	keys              map[*etree.Element][]byte
	unwrapped         []DecryptedKey // the EncryptedKeys used, in document order
	streamed          map[*soap.Attachment]*streamedPart
}

type streamedPart struct {
	part     *encryptedPart
	n        int64
	sum      [sha256.Size]byte
	complete bool // the tag verified at the end of the ciphertext
}

// PrepareDecryption checks the xenc elements of env's Security header and
// unwraps their keys. Errors are those of DecryptAttachments.
func PrepareDecryption(env wssec.Envelope, id *trust.Identity, opts DecryptOptions) (*Decryption, error) {
	if env.Root == nil {
		return nil, errors.New("xenc: no SOAP envelope")
	}
	d, err := newDecrypter(id, opts)
	if err != nil {
		return nil, err
	}
	sec, err := wssec.FindSecurity(env.Header)
	if err != nil {
		return nil, err
	}
	if err := checkPositions(env.Root, sec); err != nil {
		return nil, err
	}
	var eks, eds []*etree.Element
	if sec != nil {
		eks = childrenNS(sec, wssec.NSXENC, "EncryptedKey")
		eds = childrenNS(sec, wssec.NSXENC, "EncryptedData")
	}
	if len(eks) > d.maxKeys {
		return nil, policyError(CheckLimit, "%d EncryptedKey elements, the limit is %d", len(eks), d.maxKeys)
	}
	if len(eds) > d.maxData {
		return nil, policyError(CheckLimit, "%d EncryptedData elements, the limit is %d", len(eds), d.maxData)
	}
	dec := &Decryption{requireEncryption: opts.RequireEncryption, keys: map[*etree.Element][]byte{},
		streamed: map[*soap.Attachment]*streamedPart{}}
	if len(eds) == 0 {
		return dec, nil
	}
	ok := false
	defer func() {
		if !ok {
			dec.Close()
		}
	}()
	ids, err := wssec.IndexIDs(env.Root)
	if err != nil {
		var we *wssec.Error
		if errors.As(err, &we) {
			return nil, decryptionError(CheckDuplicateID, "%s", we.Detail)
		}
		return nil, err
	}
	binding, err := bindKeys(sec, eks, eds, ids)
	if err != nil {
		return nil, err
	}
	if dec.parts, err = d.parseEncryptedData(eds, binding); err != nil {
		return nil, err
	}
	// Unwrap each key once, for the data algorithm its EncryptedData use.
	for _, ek := range eks {
		var alg string
		for _, p := range dec.parts {
			if p.ek != ek {
				continue
			}
			if alg != "" && p.alg != alg {
				return nil, decryptionError(CheckEncryptedKey, "the EncryptedData of one EncryptedKey use different algorithms (%s, %s)", alg, p.alg)
			}
			alg = p.alg
		}
		if alg == "" {
			continue // a key no EncryptedData uses
		}
		key, info, err := d.unwrap(ek, sec, alg)
		if err != nil {
			return nil, err
		}
		dec.keys[ek] = key
		dec.unwrapped = append(dec.unwrapped, info)
	}
	ok = true
	return dec, nil
}

// Close forgets the unwrapped keys. Readers DecryptStream returned must be
// closed first.
func (dec *Decryption) Close() {
	for _, k := range dec.keys {
		clear(k)
	}
	clear(dec.keys)
}

// Covers reports whether an EncryptedData names att, and its MimeType.
func (dec *Decryption) Covers(att *soap.Attachment) (mimeType string, ok bool) {
	if p := dec.partFor(att); p != nil {
		return p.mimeType, true
	}
	return "", false
}

func (dec *Decryption) partFor(att *soap.Attachment) *encryptedPart {
	for _, p := range dec.parts {
		if att.NamedBy(p.uri) {
			return p
		}
	}
	return nil
}

// DecryptStream returns the plaintext of att's ciphertext read from src, for
// a part consumed while it arrives; ok is false when no EncryptedData names
// att. mimeType is the EncryptedData MimeType. Plaintext is released before
// the GCM tag is checked: the tag is checked at the end of src, where a
// mismatch fails the last Read (EBMS:0102) instead of returning io.EOF, so a
// consumer must read to the end and treat everything read as unverified
// until then. Apply then takes the part's size and digest from the stream.
func (dec *Decryption) DecryptStream(att *soap.Attachment, src io.Reader) (r io.ReadCloser, mimeType string, ok bool, err error) {
	if p := dec.partFor(att); p != nil {
		if _, dup := dec.streamed[att]; dup {
			return nil, "", false, decryptionError(CheckCipherReference, "part <%s> is decrypted twice", att.ContentID)
		}
		key := dec.keys[p.ek]
		if key == nil {
			return nil, "", false, errors.New("xenc: no key for the part")
		}
		dr, err := aesgcm.NewDecryptReader(io.NopCloser(src), key)
		if err != nil {
			return nil, "", false, err
		}
		sp := &streamedPart{part: p}
		dec.streamed[att] = sp
		return &streamReader{r: dr, sp: sp, h: sha256.New()}, p.mimeType, true, nil
	}
	return nil, "", false, nil
}

// streamReader hashes the plaintext and records, at a clean end, the size
// and digest Apply puts on the attachment.
type streamReader struct {
	r  io.ReadCloser
	sp *streamedPart
	h  hash.Hash
}

func (s *streamReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	s.sp.n += int64(n)
	switch {
	case err == io.EOF:
		s.h.Sum(s.sp.sum[:0])
		s.sp.complete = true
	case errors.Is(err, aesgcm.ErrAuthentication) || errors.Is(err, aesgcm.ErrTooLarge) || errors.Is(err, aesgcm.ErrTruncated):
		err = errUndecryptable()
	}
	return n, err
}

func (s *streamReader) Close() error { return s.r.Close() }

// Apply decrypts the parts of msg the header covers that were not streamed
// (see DecryptAttachments) and records the streamed ones.
func (dec *Decryption) Apply(msg *soap.Message) (*DecryptResult, error) {
	if msg == nil {
		return nil, errors.New("xenc: no message")
	}
	if len(dec.parts) == 0 {
		if dec.requireEncryption && len(msg.Attachments) > 0 {
			return nil, policyError(CheckEncryptionRequired, "the message has %d attachment(s) but no encrypted data", len(msg.Attachments))
		}
		return &DecryptResult{}, nil
	}
	seen := map[*soap.Attachment]string{}
	for _, p := range dec.parts {
		att, err := msg.AttachmentByCID(p.uri)
		if err != nil {
			return nil, &wssec.Error{Code: ebms.CodeFailedDecryption, Check: CheckCipherReference,
				Detail: fmt.Sprintf("EncryptedData %q: CipherReference %q names no single MIME part", p.id, p.uri), Err: err}
		}
		if other, dup := seen[att]; dup {
			return nil, decryptionError(CheckCipherReference, "EncryptedData %q and %q both reference part <%s>", other, p.id, att.ContentID)
		}
		seen[att] = p.id
		p.att = att
	}
	if dec.requireEncryption {
		for _, a := range msg.Attachments {
			if seen[a] == "" {
				return nil, policyError(CheckEncryptionRequired, "attachment <%s> is not encrypted", a.ContentID)
			}
		}
	}
	// A part streamed as plaintext (no EncryptedData named it while it
	// arrived) cannot be one an EncryptedData names.
	for _, a := range msg.Attachments {
		if sp := dec.streamed[a]; a.Streamed() && seen[a] != "" && (sp == nil || sp.part.att != a || !sp.complete) {
			return nil, fmt.Errorf("xenc: part <%s> was consumed without being decrypted to the end", a.ContentID)
		}
	}

	// Decrypt every part: a part held in memory into memory; a spooled
	// part is only verified and digested here, and decrypted again each
	// time it is opened, so its plaintext is never written to disk and read
	// back (for a 1 GiB payload that was the largest cost of the receiver).
	parts := dec.parts
	plains := make([][]byte, len(parts))
	defer func() {
		for _, p := range plains {
			clear(p) // set to nil once committed
		}
	}()
	sums := make([][sha256.Size]byte, len(parts))
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		if sp := dec.streamed[p.att]; sp != nil {
			sizes[i], sums[i] = sp.n, sp.sum
			continue
		}
		plain, n, sum, err := decryptPart(p.att, dec.keys[p.ek])
		if err != nil {
			return nil, err
		}
		plains[i] = plain
		sizes[i], sums[i] = n, sum
	}

	// Commit: replace the ciphertexts and the attachment metadata.
	res := &DecryptResult{Keys: dec.unwrapped}
	for i, p := range parts {
		encryptedSize := p.att.Size
		if dec.streamed[p.att] != nil {
			encryptedSize = -1 // not kept: the ciphertext went by
		} else if _, inMem := p.att.Bytes(); inMem {
			if err := p.att.SetBytes(plains[i], sums[i]); err != nil {
				return nil, fmt.Errorf("xenc: replacing attachment <%s> by its plaintext: %w", p.att.ContentID, err)
			}
			plains[i] = nil
		} else {
			key := append([]byte(nil), dec.keys[p.ek]...)
			decrypt := func(f io.ReadCloser) (io.ReadCloser, error) { return aesgcm.NewDecryptReader(f, key) }
			if err := p.att.SetTransform(decrypt, sizes[i], sums[i], func() { clear(key) }); err != nil {
				clear(key)
				return nil, fmt.Errorf("xenc: replacing attachment <%s> by its plaintext: %w", p.att.ContentID, err)
			}
		}
		a := p.att
		part := DecryptedPart{
			ContentID:            a.ContentID,
			EncryptedDataID:      p.id,
			Algorithm:            p.alg,
			ContentType:          p.mimeType,
			EncryptedContentType: a.ContentType,
			EncryptedSize:        encryptedSize,
			Size:                 sizes[i],
		}
		part.EncryptedKeyID, _ = attr(p.ek, "Id")
		res.Parts = append(res.Parts, part)
		a.Size = sizes[i]
		a.SHA256 = sums[i]
		a.ContentType = p.mimeType
		if a.Header != nil {
			a.Header = cloneHeader(a.Header)
			a.Header.Set("Content-Type", p.mimeType)
		}
	}
	return res, nil
}

type decrypter struct {
	opts     DecryptOptions
	ids      []*trust.Identity
	ours     *trust.CertificateIndex
	maxKeys  int
	maxData  int
	dataAlgs []string
}

func newDecrypter(id *trust.Identity, opts DecryptOptions) (*decrypter, error) {
	d := &decrypter{opts: opts, maxKeys: opts.MaxEncryptedKeys, maxData: opts.MaxEncryptedData, dataAlgs: opts.DataAlgorithms}
	if d.maxKeys <= 0 {
		d.maxKeys = DefaultMaxEncryptedKeys
	}
	if d.maxData <= 0 {
		d.maxData = DefaultMaxEncryptedData
	}
	if d.dataAlgs == nil {
		d.dataAlgs = DefaultDataAlgorithms
	}
	d.ours = trust.NewCertificateIndex()
	for _, cand := range append([]*trust.Identity{id}, opts.ExtraIdentities...) {
		if cand == nil || cand.Certificate == nil {
			continue
		}
		dec := cand.Decrypter()
		if dec == nil {
			continue
		}
		if _, ok := dec.Public().(*rsa.PublicKey); !ok {
			continue
		}
		d.ids = append(d.ids, cand)
		d.ours.Add(cand.Certificate)
	}
	if len(d.ids) == 0 {
		return nil, errors.New("xenc: no RSA decryption key with a certificate")
	}
	return d, nil
}

// checkPositions refuses xenc elements anywhere but directly in our Security
// header: EncryptedData in the Body or another header would be XML element
// encryption, which AS4 does not use, and an EncryptedKey nested in KeyInfo
// or elsewhere is not supported.
func checkPositions(root, sec *etree.Element) error {
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		for _, c := range el.ChildElements() {
			if (is(c, wssec.NSXENC, "EncryptedData") || is(c, wssec.NSXENC, "EncryptedKey")) && (sec == nil || el != sec) {
				return policyError(CheckPosition, "xenc:%s outside the wsse:Security header (in <%s>)", c.Tag, el.FullTag())
			}
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root)
}

// bindKeys maps each EncryptedData to its EncryptedKey: through the key's
// ReferenceList, or else through the EncryptedData's KeyInfo reference to the
// key. Both present and different, an EncryptedData listed twice, or one
// without a key is EBMS:0102.
func bindKeys(sec *etree.Element, eks, eds []*etree.Element, ids wssec.IDIndex) (map[*etree.Element]*etree.Element, error) {
	isED := make(map[*etree.Element]bool, len(eds))
	for _, ed := range eds {
		isED[ed] = true
	}
	isEK := make(map[*etree.Element]bool, len(eks))
	for _, ek := range eks {
		isEK[ek] = true
	}
	resolveED := func(uri string) (*etree.Element, error) {
		el, ok := ids.Resolve(uri)
		if !ok {
			return nil, decryptionError(CheckDataReference, "DataReference %q does not resolve", uri)
		}
		if !isED[el] {
			return nil, decryptionError(CheckDataReference, "DataReference %q names <%s>, not an xenc:EncryptedData in the Security header", uri, el.FullTag())
		}
		return el, nil
	}
	binding := map[*etree.Element]*etree.Element{}
	for _, ek := range eks {
		rl, err := childNS(ek, wssec.NSXENC, "ReferenceList")
		if err != nil {
			return nil, decryptionError(CheckEncryptedKey, "%v", err)
		}
		if rl == nil {
			continue
		}
		for _, dr := range rl.ChildElements() {
			if !is(dr, wssec.NSXENC, "DataReference") {
				return nil, decryptionError(CheckDataReference, "unexpected <%s> in an EncryptedKey's ReferenceList", dr.FullTag())
			}
			uri, _ := attr(dr, "URI")
			ed, err := resolveED(uri)
			if err != nil {
				return nil, err
			}
			if binding[ed] != nil {
				return nil, decryptionError(CheckDataReference, "EncryptedData %q is referenced twice", uri)
			}
			binding[ed] = ek
		}
	}
	// A stand-alone ReferenceList (WSS 1.0 style) only lists; its targets
	// must still be EncryptedData of this header.
	for _, rl := range childrenNS(sec, wssec.NSXENC, "ReferenceList") {
		for _, dr := range rl.ChildElements() {
			uri, _ := attr(dr, "URI")
			if _, err := resolveED(uri); err != nil {
				return nil, err
			}
		}
	}
	for _, ed := range eds {
		edID, _ := attr(ed, "Id")
		ref := keyInfoReference(ed)
		if ref != "" {
			el, ok := ids.Resolve(ref)
			if !ok || !isEK[el] {
				return nil, decryptionError(CheckDataReference, "EncryptedData %q: KeyInfo reference %q does not name an EncryptedKey in the Security header", edID, ref)
			}
			if binding[ed] != nil && binding[ed] != el {
				return nil, decryptionError(CheckDataReference, "EncryptedData %q: KeyInfo names another EncryptedKey than the ReferenceList", edID)
			}
			binding[ed] = el
		}
		if binding[ed] == nil {
			return nil, decryptionError(CheckDataReference, "no EncryptedKey refers to EncryptedData %q", edID)
		}
	}
	return binding, nil
}

// keyInfoReference returns the URI of ds:KeyInfo/wsse:SecurityTokenReference/
// wsse:Reference in an EncryptedData, or "".
func keyInfoReference(ed *etree.Element) string {
	ki, _ := childNS(ed, wssec.NSDS, "KeyInfo")
	if ki == nil {
		return ""
	}
	str, _ := childNS(ki, wssec.NSWSSE, "SecurityTokenReference")
	if str == nil {
		return ""
	}
	r, _ := childNS(str, wssec.NSWSSE, "Reference")
	if r == nil {
		return ""
	}
	uri, _ := attr(r, "URI")
	return uri
}

// encryptedPart is a checked EncryptedData and the attachment it covers.
type encryptedPart struct {
	id       string
	ek       *etree.Element
	alg      string
	mimeType string
	uri      string           // the CipherReference
	att      *soap.Attachment // set by Apply
}

func (d *decrypter) parseEncryptedData(eds []*etree.Element, binding map[*etree.Element]*etree.Element) ([]*encryptedPart, error) {
	parts := make([]*encryptedPart, 0, len(eds))
	for _, ed := range eds {
		p := &encryptedPart{ek: binding[ed]}
		p.id, _ = attr(ed, "Id")
		if typ, _ := attr(ed, "Type"); typ != wssec.TypeAttachmentContentOnly {
			return nil, policyError(CheckDataType, "EncryptedData %q has Type %q; only Attachment-Content-Only is supported", p.id, typ)
		}
		em, err := childNS(ed, wssec.NSXENC, "EncryptionMethod")
		if err != nil || em == nil {
			return nil, decryptionError(CheckDataReference, "EncryptedData %q must have one xenc:EncryptionMethod", p.id)
		}
		p.alg, _ = attr(em, "Algorithm")
		if !slices.Contains(d.dataAlgs, p.alg) {
			return nil, policyError(CheckDataAlgorithm, "data encryption algorithm %q is not allowed", p.alg)
		}
		if _, err := aesgcm.KeySize(p.alg); err != nil {
			return nil, policyError(CheckDataAlgorithm, "data encryption algorithm %q is not supported", p.alg)
		}
		cd, err := childNS(ed, wssec.NSXENC, "CipherData")
		if err != nil || cd == nil {
			return nil, decryptionError(CheckCipherReference, "EncryptedData %q must have one xenc:CipherData", p.id)
		}
		cr, err := childNS(cd, wssec.NSXENC, "CipherReference")
		if err != nil || cr == nil {
			return nil, policyError(CheckCipherForm, "EncryptedData %q has no CipherReference (only attachment encryption is supported)", p.id)
		}
		uri, _ := attr(cr, "URI")
		if err := checkCipherTransforms(cr); err != nil {
			return nil, policyError(CheckCipherForm, "EncryptedData %q: %v", p.id, err)
		}
		if len(uri) < 4 || !equalFoldASCII(uri[:4], "cid:") {
			return nil, policyError(CheckCipherForm, "EncryptedData %q: CipherReference %q is not a cid: reference", p.id, uri)
		}
		p.uri = uri
		p.mimeType, _ = attr(ed, "MimeType")
		if _, _, err := mime.ParseMediaType(p.mimeType); err != nil {
			// Absent or malformed: the part is opaque octets. The payload's
			// type is in eb:PartInfo's MimeType property anyway.
			p.mimeType = "application/octet-stream"
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// checkCipherTransforms accepts no Transforms element or exactly the SwA
// Attachment-Ciphertext-Transform.
func checkCipherTransforms(cr *etree.Element) error {
	for _, c := range cr.ChildElements() {
		if !is(c, wssec.NSXENC, "Transforms") {
			return fmt.Errorf("unexpected <%s> in CipherReference", c.FullTag())
		}
		ts := c.ChildElements()
		if len(ts) != 1 || !is(ts[0], wssec.NSDS, "Transform") {
			return errors.New("CipherReference Transforms must hold exactly one ds:Transform")
		}
		if alg, _ := attr(ts[0], "Algorithm"); alg != wssec.AlgAttachmentCiphertext {
			return fmt.Errorf("CipherReference transform %q is not the Attachment-Ciphertext-Transform", alg)
		}
	}
	if len(cr.ChildElements()) > 1 {
		return errors.New("CipherReference has more than one Transforms")
	}
	return nil
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// unwrap checks the EncryptedKey's recipient and unwraps it for dataAlg. A
// failed unwrap yields a random key, so the failure shows at the GCM tag
// like any other (no OAEP oracle).
func (d *decrypter) unwrap(ek, sec *etree.Element, dataAlg string) ([]byte, DecryptedKey, error) {
	k, err := ParseEncryptedKey(ek, d.opts.KeyTransports)
	if err != nil {
		return nil, DecryptedKey{}, err
	}
	info := DecryptedKey{ID: k.ID, Params: k.Params}
	cands, tok, err := d.recipient(k, sec)
	if err != nil {
		return nil, info, err
	}
	if tok != nil {
		info.Reference = tok.Reference
		info.RecipientIdentified = true
	}
	for _, id := range cands {
		key, err := k.Unwrap(id.Decrypter(), dataAlg)
		if err == nil {
			info.Certificate = id.Certificate
			return key, info, nil
		}
		var we *wssec.Error
		if !errors.As(err, &we) {
			return nil, info, err // local: the key cannot do RSA-OAEP
		}
	}
	size, _ := aesgcm.KeySize(dataAlg)
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return nil, info, err
	}
	return key, info, nil
}

// recipient decides which of our identities may hold the key: the one the
// KeyInfo resolves to, or (unresolved, not strict) all of them. A KeyInfo
// that resolves to a certificate that is not ours is EBMS:0102.
func (d *decrypter) recipient(k *EncryptedKey, sec *etree.Element) ([]*trust.Identity, *wssec.Token, error) {
	var tok *wssec.Token
	if k.KeyInfo != nil {
		tok, _ = wssec.ResolveKeyInfo(k.KeyInfo, sec, lookups{d.ours, d.opts.Lookup})
	}
	if tok == nil {
		if d.opts.StrictRecipient {
			return nil, nil, decryptionError(CheckRecipient, "EncryptedKey %q does not identify one of our certificates", k.ID)
		}
		return d.ids, nil, nil
	}
	for _, id := range d.ids {
		if publicKeyEqual(id.Certificate.PublicKey, tok.Certificate.PublicKey) {
			return []*trust.Identity{id}, tok, nil
		}
	}
	return nil, nil, decryptionError(CheckRecipient, "EncryptedKey %q is encrypted for %s (serial %s), not for us",
		k.ID, tok.Certificate.Subject, tok.Certificate.SerialNumber.Text(16))
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && eq.Equal(b)
}

// lookups consults our certificates first, then the caller's lookup.
type lookups struct {
	ours  *trust.CertificateIndex
	other wssec.CertificateLookup
}

func (l lookups) BySKI(ski []byte) []*x509.Certificate {
	out := l.ours.BySKI(ski)
	if len(out) == 0 && l.other != nil {
		out = l.other.BySKI(ski)
	}
	return out
}

func (l lookups) ByIssuerSerial(issuer string, serial *big.Int) []*x509.Certificate {
	out := l.ours.ByIssuerSerial(issuer, serial)
	if len(out) == 0 && l.other != nil {
		out = l.other.ByIssuerSerial(issuer, serial)
	}
	return out
}

func (l lookups) ByThumbprintSHA1(thumb []byte) []*x509.Certificate {
	out := l.ours.ByThumbprintSHA1(thumb)
	if len(out) == 0 && l.other != nil {
		out = l.other.ByThumbprintSHA1(thumb)
	}
	return out
}

func cloneHeader(h textproto.MIMEHeader) textproto.MIMEHeader {
	out := make(textproto.MIMEHeader, len(h))
	for k, v := range h {
		out[k] = slices.Clone(v)
	}
	return out
}
