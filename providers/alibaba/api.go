package alibaba

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

// envelope is what every Workorder answer carries. Gateway errors (bad
// signature, throttling) carry RequestId, Code and Message too, plus HostId
// and Recommend. Code is the integer 0 on success and a string such as
// "param.illegal" on failure.
type envelope struct {
	RequestID          string       `json:"RequestId"`
	Success            *bool        `json:"Success"`
	Code               flexString   `json:"Code"`
	Message            string       `json:"Message"`
	AccessDeniedDetail accessDenied `json:"AccessDeniedDetail"`
	HostID             string       `json:"HostId"`
}

// accessDenied is the AccessDeniedDetail of a RAM denial. The API page's
// example sends it as a JSON object escaped into a string; real 403s send
// the object itself. Both are read; any other shape, or a string that is
// not a JSON object, is left empty rather than failing the whole answer.
type accessDenied struct {
	AuthAction       string `json:"AuthAction"`
	NoPermissionType string `json:"NoPermissionType"`
}

func (a *accessDenied) UnmarshalJSON(b []byte) error {
	*a = accessDenied{}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil
		}
		b = bytes.TrimSpace([]byte(s))
	}
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var v struct {
		AuthAction       flexString `json:"AuthAction"`
		NoPermissionType flexString `json:"NoPermissionType"`
	}
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	a.AuthAction, a.NoPermissionType = safeText(string(v.AuthAction)), safeText(string(v.NoPermissionType))
	return nil
}

// text is the short line shown beside the code: the denied action and the
// kind of denial, e.g. "action ticket:ReplyTicket, NoPermissionType
// ImplicitDeny". The principal's ids stay out of it.
func (a accessDenied) text() string {
	var parts []string
	if a.AuthAction != "" {
		parts = append(parts, "action "+a.AuthAction)
	}
	if a.NoPermissionType != "" {
		parts = append(parts, "NoPermissionType "+a.NoPermissionType)
	}
	return strings.Join(parts, ", ")
}

// safeText drops control characters from a vendor value and cuts it at
// 128 runes, so it stays one short line.
func safeText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > 128 {
		s = string(r[:128])
	}
	return s
}

// ok reports whether the envelope describes a success.
func (e envelope) ok() bool {
	if e.Success != nil {
		return *e.Success
	}
	switch e.Code {
	case "", "0", "200":
		return true
	}
	return false
}

// flexString accepts a JSON string, number or boolean, since Alibaba sends
// some fields (Code, Status.Value, DialogId) as either.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case string(b) == "true" || string(b) == "false":
		*f = flexString(b)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	}
	return nil
}

// flexInt64 accepts a JSON integer or a string holding one.
type flexInt64 int64

func (f *flexInt64) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		// Some JSON encoders write large integers as 1.6e+12.
		fl, ferr := strconv.ParseFloat(string(s), 64)
		if ferr != nil || math.IsNaN(fl) || fl > 9e18 || fl < -9e18 {
			return fmt.Errorf("not an integer: %q", string(s))
		}
		n = int64(fl)
	}
	*f = flexInt64(n)
	return nil
}

// errorKinds maps Alibaba error codes, the Workorder ones and the common
// gateway ones, to sentinels. Codes not listed fall back to their prefix
// (see kindFor) and then to the HTTP status.
var errorKinds = map[string]error{
	"param.illegal":          providers.ErrInvalid,
	"illegal.param":          providers.ErrInvalid,
	"InvalidApi.NotFound":    providers.ErrInvalid,
	"UnsupportedHTTPMethod":  providers.ErrInvalid,
	"illegal.auth":           providers.ErrUnauthorized,
	"IncompleteSignature":    providers.ErrUnauthorized,
	"SignatureDoesNotMatch":  providers.ErrUnauthorized,
	"SignatureNonceUsed":     providers.ErrUnauthorized,
	"InvalidSignatureMethod": providers.ErrUnauthorized,
	"MissingSecurityToken":   providers.ErrUnauthorized,
	"No permissions":         providers.ErrForbidden,
	"NoPermission":           providers.ErrForbidden,
	"System.error":           providers.ErrUnavailable,
	"InternalError":          providers.ErrUnavailable,
	"ServiceUnavailable":     providers.ErrUnavailable,
}

// errorPrefixes are checked in order after errorKinds.
var errorPrefixes = []struct {
	prefix string
	kind   error
}{
	{"InvalidAccessKeyId.", providers.ErrUnauthorized},
	{"InvalidSecurityToken.", providers.ErrUnauthorized},
	{"InvalidTimeStamp.", providers.ErrUnauthorized},
	{"Throttling", providers.ErrRateLimited},
	{"Forbidden", providers.ErrForbidden},
	{"Missing", providers.ErrInvalid},
	{"Invalid", providers.ErrInvalid},
}

// kindFor returns the sentinel for an Alibaba error code and HTTP status.
func kindFor(status int, code string) error {
	if k, ok := errorKinds[code]; ok {
		return k
	}
	for _, p := range errorPrefixes {
		if strings.HasPrefix(code, p.prefix) {
			return p.kind
		}
	}
	lc := strings.ToLower(code)
	if strings.Contains(lc, "notfound") || strings.Contains(lc, "notexist") || strings.Contains(lc, "not.exist") {
		return providers.ErrNotFound
	}
	if status >= 200 && status < 300 {
		// A 200 with Success false and an unknown code: Alibaba refused
		// without saying why in a way we know, so do not retry it blindly.
		return providers.ErrInvalid
	}
	return providers.KindForStatus(status)
}

// call sends one action and returns the response body once Alibaba says it
// succeeded. Reads are retried by vendorhttp, writes are not.
func (c *Client) call(ctx context.Context, op, action string, params url.Values, write bool) ([]byte, string, error) {
	if params == nil {
		params = url.Values{}
	}
	params.Set("Action", action)
	if c.uid != "" {
		params.Set("Uid", c.uid)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(params.Encode()))
	if err != nil {
		return nil, "", &providers.Error{Provider: providers.KindAlibaba, Op: op, Kind: providers.ErrInvalid, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	var resp *vendorhttp.Response
	if write {
		resp, err = c.http.Write(req, op)
	} else {
		resp, err = c.http.Read(req, op)
	}
	if err != nil {
		return nil, "", err
	}
	env, err := parseEnvelope(resp.Body)
	requestID := env.RequestID
	if requestID == "" {
		requestID = resp.Header.Get("x-acs-request-id")
	}
	if err != nil {
		kind := providers.ErrUnavailable
		if resp.Status >= 300 {
			kind = kindFor(resp.Status, "")
		}
		return nil, requestID, &providers.Error{Provider: providers.KindAlibaba, Op: op, Kind: kind,
			Status: resp.Status, RequestID: requestID, Err: err}
	}
	if resp.Status >= 300 || !env.ok() {
		return nil, requestID, vendorError(op, resp.Status, env, requestID)
	}
	return resp.Body, requestID, nil
}

// parseEnvelope decodes the common part of an answer; a body that is not a
// JSON object is an error.
func parseEnvelope(body []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return envelope{}, fmt.Errorf("decode response: %w", err)
	}
	return env, nil
}

// vendorError turns a refusal into a *providers.Error keeping code,
// message and request id, and the denied action of an AccessDeniedDetail
// as Detail.
func vendorError(op string, status int, env envelope, requestID string) error {
	code := string(env.Code)
	return &providers.Error{
		Provider:  providers.KindAlibaba,
		Op:        op,
		Kind:      kindFor(status, code),
		Status:    status,
		Code:      code,
		Message:   env.Message,
		RequestID: requestID,
		Detail:    env.AccessDeniedDetail.text(),
	}
}

// decodeError wraps a body that passed the envelope check but not the
// action's own shape.
func decodeError(op string, requestID string, err error) error {
	return &providers.Error{Provider: providers.KindAlibaba, Op: op, Kind: providers.ErrUnavailable,
		Status: http.StatusOK, RequestID: requestID, Err: err}
}
