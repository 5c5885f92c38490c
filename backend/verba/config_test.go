package verba

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"switchboard/backend/natstest"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestNewKey(t *testing.T) {
	plain, k, err := NewKey("crm", true)
	if err != nil {
		t.Fatal(err)
	}
	if !guidRe.MatchString(plain) {
		t.Errorf("key %q is not a lower-case GUID", plain)
	}
	if k.Name != "crm" || !k.RequireToken || k.Hash != HashKey(plain) || strings.Contains(k.Hash, plain) {
		t.Errorf("key %+v for %q", k, plain)
	}
	if HashKey(strings.ToUpper(plain)) != k.Hash || HashKey(" "+plain+" ") != k.Hash {
		t.Error("HashKey is not case- and space-insensitive")
	}
	if other, _, _ := NewKey("crm", false); other == plain {
		t.Error("two keys are equal")
	}
	if _, _, err := NewKey(" ", false); err == nil {
		t.Error("a key without a name was made")
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret")) != nil || bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cre")) == nil {
		t.Errorf("hash %q does not check the password", h)
	}
	for _, bad := range []string{"", strings.Repeat("x", 73)} {
		if _, err := HashPassword(bad); err == nil {
			t.Errorf("HashPassword accepted a password of %d bytes", len(bad))
		}
	}
}

func TestLoadConfigFile(t *testing.T) {
	pwHash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hash := HashKey("74c8eea0-50c6-40b2-9f3e-252ed501c3c8")
	user := `{"login":"bot","passwordHash":"` + string(pwHash) + `"}`
	cases := []struct {
		name    string
		file    string
		errHas  string
		keys    int
		network string // first network of the first key, as loaded
	}{
		{name: "valid", file: `{"keys":[{"name":"crm","hash":"` + hash + `","requireToken":true,"networks":["10.1.2.3/8","2001:db8::/32"]}],"users":[` + user + `]}`,
			keys: 1, network: "10.0.0.0/8"},
		{name: "no users", file: `{"keys":[{"name":"crm","hash":"` + hash + `"}]}`, keys: 1},
		{name: "unknown field", file: `{"keys":[{"name":"crm","hash":"` + hash + `","secret":"x"}]}`, errHas: `unknown field "secret"`},
		{name: "not JSON", file: `keys: []`, errHas: "invalid character"},
		{name: "hash without prefix", file: `{"keys":[{"name":"crm","hash":"` + strings.TrimPrefix(hash, "sha256:") + `"}]}`, errHas: `must start with "sha256:"`},
		{name: "short hash", file: `{"keys":[{"name":"crm","hash":"sha256:abc"}]}`, errHas: "64 lower-case hex digits"},
		{name: "upper-case hash", file: `{"keys":[{"name":"crm","hash":"` + strings.ToUpper(hash) + `"}]}`, errHas: `must start with "sha256:"`},
		{name: "key without name", file: `{"keys":[{"hash":"` + hash + `"}]}`, errHas: "key 1 has no name"},
		{name: "name used twice", file: `{"keys":[{"name":"a","hash":"` + hash + `"},{"name":"a","hash":"` + HashKey("x") + `"}]}`, errHas: `"a" is used twice`},
		{name: "key configured twice", file: `{"keys":[{"name":"a","hash":"` + hash + `"},{"name":"b","hash":"` + hash + `"}]}`, errHas: "configured twice"},
		{name: "not a CIDR", file: `{"keys":[{"name":"a","hash":"` + hash + `","networks":["10.0.0.1"]}]}`, errHas: "10.0.0.1"},
		{name: "password not hashed", file: `{"users":[{"login":"bot","passwordHash":"pw"}]}`, errHas: "not a bcrypt hash"},
		{name: "login with colon", file: `{"users":[{"login":"b:t","passwordHash":"` + string(pwHash) + `"}]}`, errHas: "no colon"},
		{name: "user twice", file: `{"users":[` + user + `,` + user + `]}`, errHas: `"bot" is configured twice`},
	}
	dir := t.TempDir()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, _, err := LoadConfigFile(path)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("case %d: error %v, want one holding %q", i, err, tc.errHas)
				}
				return
			}
			if err != nil || len(keys) != tc.keys {
				t.Fatalf("keys %v, error %v", keys, err)
			}
			if tc.network != "" && keys[0].Networks[0] != netip.MustParsePrefix(tc.network) {
				t.Errorf("network %v, want %s", keys[0].Networks[0], tc.network)
			}
		})
	}
	if _, _, err := LoadConfigFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestNewChecksConfig(t *testing.T) {
	js := natstest.JetStream(t)
	store, rec := &memStore{}, &memAudit{}
	cases := []struct {
		name   string
		cfg    Config
		errHas string
	}{
		{"no store", Config{Audit: rec, JS: js}, "needs Store, Audit and JS"},
		{"no audit", Config{Store: store, JS: js}, "needs Store, Audit and JS"},
		{"no NATS", Config{Store: store, Audit: rec}, "needs Store, Audit and JS"},
		{"bad key", Config{Store: store, Audit: rec, JS: js, Keys: []Key{{Name: "a", Hash: "md5:x"}}}, `key "a"`},
		{"invalid network", Config{Store: store, Audit: rec, JS: js, Keys: []Key{{Name: "a", Hash: HashKey("k"), Networks: []netip.Prefix{{}}}}}, "not a valid CIDR"},
		{"bad user", Config{Store: store, Audit: rec, JS: js, Users: []User{{Login: "u", PasswordHash: "plain"}}}, "bcrypt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(t.Context(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error %v, want one holding %q", err, tc.errHas)
			}
		})
	}
}
