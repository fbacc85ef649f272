package alibabasim

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// The simulator checks signatures with its own implementation of Alibaba's
// published RPC signature V1.0, written from the spec and sharing no code
// with the client, so a client bug cannot hide behind a matching bug here.

// Spec values.
const (
	apiVersion      = "2021-06-10"
	timestampLayout = "2006-01-02T15:04:05Z"
	// clockSkew is how far Timestamp may be from the server's clock: the
	// common error list says 15 minutes.
	clockSkew = 15 * time.Minute
)

// specEncode percent-encodes per RFC 3986 byte by byte: only A-Z a-z 0-9
// "-" "_" "." "~" stay literal, everything else becomes %XY (upper case).
func specEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0f])
		}
	}
	return b.String()
}

// specStringToSign builds METHOD&%2F&encode(sorted encoded k=v joined by &)
// over every parameter but Signature.
func specStringToSign(method string, params url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range params {
		if k == "Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, pair{k, v})
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	var q strings.Builder
	for i, p := range pairs {
		if i > 0 {
			q.WriteByte('&')
		}
		q.WriteString(specEncode(p.k) + "=" + specEncode(p.v))
	}
	return method + "&" + specEncode("/") + "&" + specEncode(q.String())
}

// specSignature is base64(HMAC-SHA1(secret + "&", stringToSign)).
func specSignature(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// required lists the common parameters every request must carry.
var required = []string{"Action", "Version", "AccessKeyId", "Signature", "SignatureMethod",
	"SignatureVersion", "SignatureNonce", "Timestamp"}

// authenticate checks the common parameters and the signature of a request
// and records its nonce. It returns nil when the request may proceed.
func (s *Server) authenticate(method string, p url.Values) *apiError {
	for _, name := range required {
		if p.Get(name) == "" {
			e := errMissing(name)
			return &e
		}
	}
	if p.Get("Version") != apiVersion {
		return &errVersion
	}
	if _, ok := actions[p.Get("Action")]; !ok {
		return &errAPINotFound
	}
	if f := p.Get("Format"); f != "" && f != "JSON" {
		// Alibaba also speaks XML; this simulator answers only JSON.
		return &errFormat
	}
	ts, err := time.Parse(timestampLayout, p.Get("Timestamp"))
	if err != nil {
		return &errTimestampFormat
	}
	now := s.now()
	if d := now.Sub(ts); d > clockSkew || d < -clockSkew {
		return &errTimestampExpired
	}

	s.mu.Lock()
	keyID, secret, token := s.keyID, s.secret, s.token
	s.mu.Unlock()
	if p.Get("AccessKeyId") != keyID {
		return &errKeyNotFound
	}
	if p.Get("SignatureMethod") != "HMAC-SHA1" {
		return &errSignatureMethod
	}
	if p.Get("SignatureVersion") != "1.0" {
		return &errSignatureVersion
	}
	switch sent := p.Get("SecurityToken"); {
	case token == "" && sent != "":
		return &errTokenMalformed
	case token != "" && sent == "":
		return &errTokenMissing
	case sent != token:
		return &errTokenMismatch
	}
	if s.Faults.Take(simfault.ExpiredToken) {
		return &errTokenExpired
	}
	sts := specStringToSign(method, p)
	want := specSignature(secret, sts)
	if !hmac.Equal([]byte(p.Get("Signature")), []byte(want)) {
		e := errSignature(sts)
		return &e
	}
	if !s.useNonce(p.Get("SignatureNonce"), now) {
		return &errNonceUsed
	}
	return nil
}

// useNonce records nonce and reports whether it was fresh. Nonces older
// than the clock-skew window are forgotten: a request that old fails the
// Timestamp check anyway.
func (s *Server) useNonce(nonce string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.nonces[nonce]; seen {
		return false
	}
	if len(s.nonces) >= 4096 {
		for n, at := range s.nonces {
			if now.Sub(at) > 2*clockSkew || at.Sub(now) > 2*clockSkew {
				delete(s.nonces, n)
			}
		}
	}
	s.nonces[nonce] = now
	return true
}
