package alibaba

import (
	"errors"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
)

func TestHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ region, want string }{
		{"", "workorder.aliyuncs.com"},
		{"cn-hangzhou", "workorder.aliyuncs.com"},
		{"cn-beijing", "workorder.aliyuncs.com"},
		{"us-west-1", "workorder.aliyuncs.com"},
		{"ap-northeast-1", "workorder.ap-northeast-1.aliyuncs.com"},
		{"ap-southeast-1", "workorder.ap-southeast-1.aliyuncs.com"},
		{"ap-southeast-2", "workorder.aliyuncs.com"},
	}
	for _, tt := range tests {
		if got := Host(tt.region); got != tt.want {
			t.Errorf("Host(%q) = %q, want %q", tt.region, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	full := func() providers.Account {
		return providers.Account{
			Settings: map[string]string{FieldAccessKeyID: "LTAIid"},
			Secrets:  map[string]string{FieldAccessKeySecret: "secret"},
		}
	}
	tests := []struct {
		name         string
		edit         func(*providers.Account)
		wantErr      bool
		wantEndpoint string
	}{
		{name: "default region", edit: func(*providers.Account) {}, wantEndpoint: "https://workorder.aliyuncs.com/"},
		{name: "Tokyo", edit: func(a *providers.Account) { a.Settings[FieldRegion] = "ap-northeast-1" },
			wantEndpoint: "https://workorder.ap-northeast-1.aliyuncs.com/"},
		{name: "endpoint override", edit: func(a *providers.Account) { a.Endpoint = "http://127.0.0.1:9" },
			wantEndpoint: "http://127.0.0.1:9/"},
		{name: "no key id", edit: func(a *providers.Account) { delete(a.Settings, FieldAccessKeyID) }, wantErr: true},
		{name: "blank key id", edit: func(a *providers.Account) { a.Settings[FieldAccessKeyID] = "  " }, wantErr: true},
		{name: "no secret", edit: func(a *providers.Account) { a.Secrets = nil }, wantErr: true},
		{name: "relative endpoint", edit: func(a *providers.Account) { a.Endpoint = "sim/" }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acct := full()
			tt.edit(&acct)
			c, err := New(acct, providers.Options{})
			if tt.wantErr {
				if !errors.Is(err, providers.ErrInvalid) {
					t.Errorf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.endpoint != tt.wantEndpoint {
				t.Errorf("endpoint = %q, want %q", c.endpoint, tt.wantEndpoint)
			}
		})
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	want := map[string]struct{ secret, required bool }{
		FieldAccessKeyID:     {false, true},
		FieldAccessKeySecret: {true, true},
		FieldSecurityToken:   {true, false},
		FieldUID:             {false, false},
		FieldRegion:          {false, false},
	}
	got := Fields()
	if len(got) != len(want) {
		t.Fatalf("%d fields, want %d", len(got), len(want))
	}
	for _, f := range got {
		w, ok := want[f.Name]
		if !ok || f.Secret != w.secret || f.Required != w.required || f.Label != "field."+f.Name {
			t.Errorf("field %+v", f)
		}
	}
}
