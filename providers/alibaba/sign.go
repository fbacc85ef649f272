package alibaba

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// The RPC signature, version 1.0, as Alibaba Cloud documents it in "Request
// syntax and signature method V2 for RPC APIs":
// https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism
const (
	signatureMethod  = "HMAC-SHA1"
	signatureVersion = "1.0"
	timestampLayout  = "2006-01-02T15:04:05Z"
)

// signer adds the common parameters and the signature to a request's
// parameters.
type signer struct {
	keyID  string
	secret string
	token  string // STS SecurityToken, empty for a plain AccessKey pair
	now    func() time.Time
	nonce  func() string
}

// sign sets the common parameters on params (replacing any from an earlier
// attempt) and then Signature.
func (s *signer) sign(method string, params url.Values) {
	params.Set("Format", "JSON")
	params.Set("Version", APIVersion)
	params.Set("AccessKeyId", s.keyID)
	params.Set("SignatureMethod", signatureMethod)
	params.Set("SignatureVersion", signatureVersion)
	params.Set("SignatureNonce", s.nonce())
	params.Set("Timestamp", s.now().UTC().Format(timestampLayout))
	if s.token != "" {
		params.Set("SecurityToken", s.token)
	} else {
		params.Del("SecurityToken")
	}
	params.Del("Signature")
	params.Set("Signature", signature(method, params, s.secret))
}

// signature returns base64(HMAC-SHA1(secret + "&", StringToSign)) over every
// parameter but Signature.
func signature(method string, params url.Values, secret string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign(method, params)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// stringToSign is METHOD & %2F & percentEncode(canonical query).
func stringToSign(method string, params url.Values) string {
	return method + "&" + percentEncode("/") + "&" + percentEncode(canonicalQuery(params))
}

// canonicalQuery sorts the parameters by key in byte order and joins the
// percent-encoded pairs with "&". Signature itself is left out.
func canonicalQuery(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range params[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(percentEncode(k))
			b.WriteByte('=')
			b.WriteString(percentEncode(v))
		}
	}
	return b.String()
}

// percentEncode is RFC 3986 encoding as Alibaba wants it: the form encoding
// of the standard library with space as %20, "*" as %2A and "~" left alone.
func percentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// encodeForm encodes params as a form body in the signature's own encoding,
// so what is sent is exactly what was signed.
func encodeForm(params url.Values) string {
	q := canonicalQuery(params)
	if sig, ok := params["Signature"]; ok && len(sig) > 0 {
		q += "&Signature=" + percentEncode(sig[0])
	}
	return q
}

// signingTransport signs each attempt of a POST whose form body holds the
// action's own parameters.
type signingTransport struct {
	next   http.RoundTripper
	signer *signer
}

func (t *signingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var raw []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		raw = b
	}
	params, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, fmt.Errorf("parse request body: %w", err)
	}
	t.signer.sign(req.Method, params)
	body := []byte(encodeForm(params))

	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	return t.next.RoundTrip(out)
}
