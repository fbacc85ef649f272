package alibaba

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The published example of Alibaba Cloud's RPC signature: DescribeRegions
// signed with AccessKeyId "testid" and AccessKeySecret "testsecret". It is
// printed, StringToSign and Signature both, in Alibaba Cloud's "Request
// signatures" / "Signature method" pages for RPC APIs (spelling the
// parameter Timestamp), and in the older "API 签名机制(示例)" page of the
// Alibaba Cloud developer community (spelling it TimeStamp).
func publishedParams(timestampKey string) url.Values {
	return url.Values{
		"AccessKeyId":      {"testid"},
		"Action":           {"DescribeRegions"},
		"Format":           {"XML"},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
		"SignatureVersion": {"1.0"},
		timestampKey:       {"2016-02-23T12:46:24Z"},
		"Version":          {"2014-05-26"},
	}
}

func TestSignaturePublishedVector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, timestampKey, wantStringToSign, wantSignature string
	}{
		{
			name:         "Timestamp",
			timestampKey: "Timestamp",
			wantStringToSign: "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML" +
				"%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf" +
				"%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
			wantSignature: "OLeaidS1JvxuMvnyHOwuJ+uX5qY=",
		},
		{
			name:         "TimeStamp",
			timestampKey: "TimeStamp",
			wantStringToSign: "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML" +
				"%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf" +
				"%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
			wantSignature: "CT9X0VtwR86fNWSnsc6v8YGOjuE=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := publishedParams(tt.timestampKey)
			if got := stringToSign("GET", p); got != tt.wantStringToSign {
				t.Errorf("stringToSign\n got %s\nwant %s", got, tt.wantStringToSign)
			}
			if got := signature("GET", p, "testsecret"); got != tt.wantSignature {
				t.Errorf("signature = %s, want %s", got, tt.wantSignature)
			}
			// Signature itself never takes part.
			p.Set("Signature", "anything")
			if got := signature("GET", p, "testsecret"); got != tt.wantSignature {
				t.Errorf("signature with Signature set = %s, want %s", got, tt.wantSignature)
			}
		})
	}
}

func TestPercentEncode(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"abcXYZ019-_.~", "abcXYZ019-_.~"},
		{"a b", "a%20b"},
		{"*", "%2A"},
		{"~", "~"},
		{"/=&+", "%2F%3D%26%2B"},
		{"2016-02-23T12:46:24Z", "2016-02-23T12%3A46%3A24Z"},
		{`"`, "%22"},
		{"工单", "%E5%B7%A5%E5%8D%95"},
		{"😀", "%F0%9F%98%80"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := percentEncode(tt.in); got != tt.want {
			t.Errorf("percentEncode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// recordingTransport keeps the bodies it is asked to send.
type recordingTransport struct {
	bodies []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	r.bodies = append(r.bodies, string(b))
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}}, nil
}

func TestSigningTransportSignsEachAttempt(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))
	n := 0
	rec := &recordingTransport{}
	tr := &signingTransport{next: rec, signer: &signer{
		keyID: "id", secret: "secret", token: "sts-token",
		now:   func() time.Time { return now },
		nonce: func() string { n++; return "nonce-" + string(rune('0'+n)) },
	}}
	for range 2 {
		req, err := http.NewRequest(http.MethodPost, "http://sim/", strings.NewReader("Action=ListTicketNotes&TicketId=0005PYGCW&Content=a+b%2Ac"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(rec.bodies) != 2 {
		t.Fatalf("sent %d bodies, want 2", len(rec.bodies))
	}
	var nonces []string
	for _, body := range rec.bodies {
		p, err := url.ParseQuery(body)
		if err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		want := map[string]string{
			"Action": "ListTicketNotes", "TicketId": "0005PYGCW", "Content": "a b*c",
			"Format": "JSON", "Version": "2021-06-10", "AccessKeyId": "id",
			"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
			"Timestamp": "2025-06-01T04:00:00Z", "SecurityToken": "sts-token",
		}
		for k, v := range want {
			if got := p.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if got, want := p.Get("Signature"), signature("POST", p, "secret"); got != want {
			t.Errorf("Signature = %q, want %q", got, want)
		}
		if strings.Contains(body, "+") {
			t.Errorf("body %q encodes a space as +, want %%20", body)
		}
		nonces = append(nonces, p.Get("SignatureNonce"))
	}
	if nonces[0] == nonces[1] {
		t.Errorf("both attempts used nonce %q", nonces[0])
	}
}
