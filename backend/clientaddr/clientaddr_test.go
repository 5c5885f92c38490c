package clientaddr

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestAddr(t *testing.T) {
	proxies, err := ParsePrefixes("10.0.0.0/8, 192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	trusting := Resolver{Trusted: proxies}
	cases := []struct {
		name   string
		res    Resolver
		remote string
		xff    []string
		want   string
	}{
		{"no proxy trusted: the peer", Resolver{}, "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"untrusted peer's header ignored", trusting, "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy: its client", trusting, "10.1.2.3:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed entries left of the client ignored", trusting, "10.1.2.3:4000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", trusting, "10.1.2.3:4000", []string{"198.51.100.1, 192.0.2.10", "10.9.9.9"}, "198.51.100.1"},
		{"malformed entry: the last trusted hop", trusting, "10.1.2.3:4000", []string{"nonsense, 10.4.4.4"}, "10.4.4.4"},
		{"trusted proxy without header", trusting, "10.1.2.3:4000", nil, "10.1.2.3"},
		{"IPv6 peer", Resolver{}, "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"IPv4-mapped peer", Resolver{}, "[::ffff:192.0.2.1]:443", nil, "192.0.2.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.res.Addr(r); got != netip.MustParseAddr(tc.want) {
				t.Errorf("Addr = %v, want %s", got, tc.want)
			}
		})
	}
	if got := (Resolver{}).Addr(&http.Request{RemoteAddr: "pipe"}); got.IsValid() {
		t.Errorf("an unparsable peer gave %v", got)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 10.0.0.0/8,,2001:db8::/32, 192.0.2.10 ,10.1.2.3/8")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.10/32", "10.0.0.0/8"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d: %v, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0/8"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
