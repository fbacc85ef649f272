package feishu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

// headerLogID identifies a request for vendor support.
const headerLogID = "X-Tt-Logid"

// headerHelpdesk carries base64(helpdesk_id:helpdesk_token) on every
// helpdesk call, next to the app's bearer token.
const headerHelpdesk = "X-Lark-Helpdesk-Authorization"

// Vendor error codes the client acts on.
const (
	codeBadRequest    = 154000
	codeUnauthorized  = 154001
	codeForbidden     = 154003
	codeInternal      = 155000
	codeTokenInvalid  = 99991663
	codeTokenMissing  = 99991661
	codeRateLimited   = 99991400
	codeInvalidParam  = 10003
	codeSecretInvalid = 10014
)

// codeKinds maps vendor codes to sentinels. The helpdesk codes 154000,
// 154001, 154003 and 155000 come from the API pages; 99991661/99991663
// (missing or invalid token), 99991400 (frequency limit), 10003 and 10014
// (token endpoint: invalid param, app secret invalid) are platform-wide
// codes. There is no not-found code: see unknownTicketOnRead.
var codeKinds = map[int]error{
	codeBadRequest:    providers.ErrInvalid,
	codeUnauthorized:  providers.ErrUnauthorized,
	codeForbidden:     providers.ErrForbidden,
	codeInternal:      providers.ErrUnavailable,
	codeTokenInvalid:  providers.ErrUnauthorized,
	codeTokenMissing:  providers.ErrUnauthorized,
	codeRateLimited:   providers.ErrRateLimited,
	codeInvalidParam:  providers.ErrInvalid,
	codeSecretInvalid: providers.ErrUnauthorized,
}

// unknownTicketOnRead reads the helpdesk's answer to a read of one ticket
// (get ticket, list its messages). The helpdesk has no not-found code: it
// answers an unknown ticket id with 400 / 154000, its generic bad request.
// Our own parameters of those reads are valid, so there 154000 means the
// ticket: err becomes a copy of kind providers.ErrNotFound, keeping code,
// status and log id. Which other causes share 154000 is unconfirmed; a
// write answered 154000 stays invalid. Other errors pass unchanged.
func unknownTicketOnRead(err error) error {
	pe := providers.AsError(err)
	if pe == nil || pe.Code != strconv.Itoa(codeBadRequest) {
		return err
	}
	nf := *pe
	nf.Kind = providers.ErrNotFound
	return &nf
}

// vendorError builds the *providers.Error for a failed answer: the code
// decides the kind when it is known, the HTTP status otherwise.
func vendorError(op string, status int, reqID string, code int, msg string, cause error) *providers.Error {
	kind, ok := codeKinds[code]
	if !ok || code == 0 {
		kind = providers.KindForStatus(status)
	}
	if cause != nil && status < 400 {
		// A 2xx answer we cannot read is a vendor fault, not our request.
		kind = providers.ErrUnavailable
	}
	e := &providers.Error{Provider: providers.KindFeishu, Op: op, Kind: kind, Status: status,
		Message: msg, RequestID: reqID, Err: cause}
	if code != 0 {
		e.Code = strconv.Itoa(code)
	}
	return e
}

// envelope wraps every helpdesk answer.
type envelope struct {
	Code int             `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

// parseEnvelope decodes the outer layer of a helpdesk answer.
func parseEnvelope(body []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return envelope{}, fmt.Errorf("decode response: %w", err)
	}
	return env, nil
}

// call is one helpdesk request.
type call struct {
	op     string
	method string
	path   string
	query  url.Values
	body   []byte // JSON; nil for GET
	write  bool
}

// do sends cl with the app token and the helpdesk header, decodes the
// envelope and unmarshals data into out (when out is not nil). A refused
// token is dropped and the call sent once more with a new one; that is safe
// for writes too, because a refused call was not applied. It returns the
// request id of the last answer.
func (c *Client) do(ctx context.Context, cl call, out any) (string, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.get(ctx, cl.op)
		if err != nil {
			return "", err
		}
		resp, err := c.send(ctx, cl, tok)
		if err != nil {
			return "", err
		}
		reqID := resp.Header.Get(headerLogID)
		env, perr := parseEnvelope(resp.Body)
		if perr != nil {
			return reqID, vendorError(cl.op, resp.Status, reqID, 0, "", perr)
		}
		if env.Code == codeTokenInvalid && attempt == 0 {
			c.tokens.invalidate(tok)
			continue
		}
		if env.Code != 0 || resp.Status >= 400 {
			return reqID, vendorError(cl.op, resp.Status, reqID, env.Code, env.Msg, nil)
		}
		if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
			if err := json.Unmarshal(env.Data, out); err != nil {
				return reqID, vendorError(cl.op, resp.Status, reqID, 0, "", fmt.Errorf("decode data: %w", err))
			}
		}
		return reqID, nil
	}
}

func (c *Client) send(ctx context.Context, cl call, token string) (*vendorhttp.Response, error) {
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, &providers.Error{Provider: providers.KindFeishu, Op: cl.op, Kind: providers.ErrInvalid, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(headerHelpdesk, c.helpdeskAuth)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if cl.write {
		return c.http.Write(req, cl.op)
	}
	return c.http.Read(req, cl.op)
}
