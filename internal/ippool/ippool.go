// Package ippool hands out static IPv4 addresses from one range, for vSphere networks without
// DHCP such as the embedded simulator. Addresses are keyed by owner (a VirtualMachine's UID) and
// recorded by the caller in status, from which a restarted manager reserves them again.
package ippool

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// ErrExhausted means every address of the range is taken.
var ErrExhausted = errors.New("IP pool exhausted")

// Pool is a range of addresses. It is safe for concurrent use.
type Pool struct {
	prefix  netip.Prefix
	gateway netip.Addr

	mu      sync.Mutex
	byOwner map[string]netip.Addr
	taken   map[netip.Addr]string
}

// New returns a pool over cidr, such as 192.168.128.0/20. The network and broadcast addresses
// and the gateway (the first host address) are never handed out.
func New(cidr string) (*Pool, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil || !prefix.Addr().Is4() || prefix.Bits() > 30 {
		return nil, fmt.Errorf("IP pool %q: want an IPv4 range of at least 4 addresses, such as 192.168.128.0/20", cidr)
	}
	prefix = prefix.Masked()
	return &Pool{
		prefix:  prefix,
		gateway: prefix.Addr().Next(),
		byOwner: map[string]netip.Addr{},
		taken:   map[netip.Addr]string{},
	}, nil
}

// Contains says whether addr is an address this pool hands out.
func (p *Pool) Contains(addr string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && p.usable(a)
}

// Gateway is the range's first host address, which the VMs use as default gateway.
func (p *Pool) Gateway() string { return p.gateway.String() }

// Netmask is the range's mask in dotted form, such as 255.255.240.0.
func (p *Pool) Netmask() string {
	return net.IP(net.CIDRMask(p.prefix.Bits(), 32)).String()
}

// Reserve records that owner holds addr, as read back from status; an address outside the range
// or held by someone else is ignored.
func (p *Pool) Reserve(owner, addr string) {
	a, err := netip.ParseAddr(addr)
	if err != nil || !p.usable(a) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if holder, ok := p.taken[a]; ok && holder != owner {
		return
	}
	p.byOwner[owner], p.taken[a] = a, owner
}

// Allocate returns owner's address, taking the lowest free one the first time.
func (p *Pool) Allocate(owner string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byOwner[owner]; ok {
		return a.String(), nil
	}
	for a := p.gateway.Next(); p.usable(a); a = a.Next() {
		if _, ok := p.taken[a]; !ok {
			p.byOwner[owner], p.taken[a] = a, owner
			return a.String(), nil
		}
	}
	return "", fmt.Errorf("%w: %s has no free address", ErrExhausted, p.prefix)
}

// Release frees owner's address.
func (p *Pool) Release(owner string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byOwner[owner]; ok {
		delete(p.taken, a)
		delete(p.byOwner, owner)
	}
}

// usable says whether a is a host address of the range other than the gateway.
func (p *Pool) usable(a netip.Addr) bool {
	if !p.prefix.Contains(a) || a == p.gateway || a == p.prefix.Addr() {
		return false
	}
	return a.Next().IsValid() && p.prefix.Contains(a.Next()) // not the broadcast address
}

// DefaultNetwork is the Networks key of the namespace's default network.
const DefaultNetwork = ""

// Networks are the pools of vSphere networks without DHCP, by network name.
type Networks map[string]*Pool

// ParseNetworks reads comma-separated pools, each "CIDR" (the default network) or
// "NETWORK=CIDR", such as "10.0.128.0/20,dvpg-db=10.0.144.0/20".
func ParseNetworks(spec string) (Networks, error) {
	out := Networks{}
	for _, item := range strings.Split(spec, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		network, cidr, ok := strings.Cut(item, "=")
		if !ok {
			network, cidr = DefaultNetwork, item
		}
		if _, dup := out[network]; dup {
			return nil, fmt.Errorf("IP pools %q: network %q has two pools", spec, network)
		}
		p, err := New(cidr)
		if err != nil {
			return nil, err
		}
		out[network] = p
	}
	return out, nil
}

// Owner is the pool owner of a VM's NIC: its UID and the NIC's index.
func Owner(uid string, nic int) string { return fmt.Sprintf("%s/%d", uid, nic) }
