// Package clientaddr tells which address a request comes from, for the
// limits and records kept per client: the connection's peer, or, when the
// peer is a reverse proxy or load balancer trusted to say so, the address
// that proxy saw, from X-Forwarded-For.
//
// Behind a proxy that is not trusted, every client seems to come from the
// proxy: per-address limits then apply to all clients together.
package clientaddr

import (
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds client addresses. The zero value trusts no proxy and
// returns the connection's peer.
type Resolver struct {
	// Trusted are the networks of the proxies whose X-Forwarded-For is
	// believed.
	Trusted []netip.Prefix
}

// Addr is the address r comes from. X-Forwarded-For is read from the
// right, the entries added last: each entry written by a trusted proxy is
// skipped, and the first address no trusted proxy vouches for is the
// client. A malformed entry stops the walk at the last trusted hop, which
// is then taken as the client. The zero Addr means the peer is unknown.
func (res Resolver) Addr(r *http.Request) netip.Addr {
	addr := Peer(r)
	if !res.trusts(addr) {
		return addr
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			next, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr
			}
			addr = next.Unmap()
			if !res.trusts(addr) {
				return addr
			}
		}
	}
	return addr
}

func (res Resolver) trusts(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range res.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Peer is the connection's remote address, without its port.
func Peer(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, err := netip.ParseAddr(r.RemoteAddr)
		if err != nil {
			return netip.Addr{}
		}
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// ParsePrefixes reads a comma-separated list of networks (10.0.0.0/8) and
// addresses (a single host), as the --trusted-proxies flag gives them.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
