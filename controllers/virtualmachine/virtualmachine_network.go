package virtualmachine

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/ippool"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// NetworkTypeDistributed is the networkType of a vSphere distributed port group.
const NetworkTypeDistributed = "vsphere-distributed"

// nics are the VM's network interfaces as the provider takes them, without addresses, and the
// pool each takes its address from. A VM without networkInterfaces has one NIC on the default
// network: its image's.
func nics(vm *vmopv1.VirtualMachine) (out []vsphere.NIC, pools []string) {
	if len(vm.Spec.NetworkInterfaces) == 0 {
		return []vsphere.NIC{{}}, []string{ippool.DefaultNetwork}
	}
	for _, n := range vm.Spec.NetworkInterfaces {
		nic := vsphere.NIC{CardType: n.EthernetCardType}
		if n.NetworkType == NetworkTypeDistributed {
			nic.Network, nic.Distributed = n.NetworkName, true
		}
		out, pools = append(out, nic), append(pools, nic.Network)
	}
	return out, pools
}

// allocateAddresses gives each NIC on a network with a pool its address, recorded in
// status.networkInterfaces, which only the manager writes: a new NIC gets one, a NIC moved to
// another network gets one there (or none without a pool), a NIC removed from the spec loses its
// entry. It returns what
// frees the addresses the NICs no longer hold, to call once status is written (nil when status is
// unchanged), so a manager restarting in between finds every address in use recorded. The first
// call after a start reserves every address recorded on any VM, so a restarted manager never
// hands one out twice.
func (r *Reconciler) allocateAddresses(ctx context.Context, vm *vmopv1.VirtualMachine) (release func(), err error) {
	if len(r.Networks) > 0 {
		if err := r.reserveAddressesInUse(ctx); err != nil {
			return nil, err
		}
	}
	_, networks := nics(vm)
	status := slices.Clone(vm.Status.NetworkInterfaces)
	if len(vm.Spec.NetworkInterfaces) > 0 && len(status) > len(networks) {
		status = status[:len(networks)] // NICs removed from the spec; without any, the image's stay
	}
	for len(status) < len(networks) {
		status = append(status, vmopv1.NetworkInterfaceStatus{})
	}
	for i, network := range networks {
		ips, err := r.nicAddresses(ippool.Owner(string(vm.UID), i), network, status[i].IpAddresses)
		if err != nil {
			return nil, fmt.Errorf("address for NIC %d of %s/%s: %w", i, vm.Namespace, vm.Name, err)
		}
		status[i].IpAddresses = ips
	}
	if equality.Semantic.DeepEqual(status, vm.Status.NetworkInterfaces) {
		return nil, nil
	}
	held := max(len(status), len(vm.Status.NetworkInterfaces))
	vm.Status.NetworkInterfaces = status
	return func() { r.releaseStaleAddresses(string(vm.UID), networks, held) }, nil
}

// nicAddresses are what status lists for a NIC on network: recorded as it is when it holds the
// NIC's address from the network's pool (allocated the first time) and no other pool's, or else
// that address alone (none on a network without a pool; the guest reports what it has).
func (r *Reconciler) nicAddresses(owner, network string, recorded []string) ([]string, error) {
	var own string
	if pool := r.Networks[network]; pool != nil {
		var err error
		if own, err = pool.Allocate(owner); err != nil {
			return nil, err
		}
	}
	stale := slices.ContainsFunc(recorded, func(ip string) bool { return ip != own && r.pooled(ip) })
	switch {
	case !stale && (own == "" || slices.Contains(recorded, own)):
		return recorded, nil
	case own == "":
		return nil, nil
	}
	return []string{own}, nil
}

// releaseStaleAddresses frees what the VM's first held NICs hold in a pool other than their
// network's: the old network's address of a NIC moved, every address of a NIC removed.
func (r *Reconciler) releaseStaleAddresses(uid string, networks []string, held int) {
	for i := range held {
		for network, pool := range r.Networks {
			if i >= len(networks) || network != networks[i] {
				pool.Release(ippool.Owner(uid, i))
			}
		}
	}
}

// pooled says whether addr is one a pool hands out, so the manager decides which NIC has it.
func (r *Reconciler) pooled(addr string) bool {
	for _, pool := range r.Networks {
		if pool.Contains(addr) {
			return true
		}
	}
	return false
}

func (r *Reconciler) reserveAddressesInUse(ctx context.Context) error {
	r.seedMu.Lock()
	defer r.seedMu.Unlock()
	if r.seeded {
		return nil
	}
	vms := &vmopv1.VirtualMachineList{}
	if err := r.Client.List(ctx, vms); err != nil {
		return fmt.Errorf("read addresses in use: %w", err)
	}
	for _, v := range vms.Items {
		for i, n := range v.Status.NetworkInterfaces {
			for _, addr := range n.IpAddresses {
				for _, pool := range r.Networks { // a pool ignores an address outside its range
					pool.Reserve(ippool.Owner(string(v.UID), i), addr)
				}
			}
		}
		// A VM made before addresses were recorded per NIC has its first one as its IP; with them
		// recorded, the IP may be an address its NIC had before a network change.
		if len(v.Status.NetworkInterfaces) == 0 {
			for _, pool := range r.Networks {
				pool.Reserve(ippool.Owner(string(v.UID), 0), v.Status.VmIp)
			}
		}
	}
	r.seeded = true
	return nil
}

// releaseAddresses frees the addresses of the VM's NICs.
func (r *Reconciler) releaseAddresses(vm *vmopv1.VirtualMachine) {
	for i := range max(len(vm.Status.NetworkInterfaces), 1) {
		for _, pool := range r.Networks {
			pool.Release(ippool.Owner(string(vm.UID), i))
		}
	}
}

// networkSpec is the provider's view of the VM's NICs with their recorded addresses: NICs for
// networkInterfaces, or the static address of the image's first NIC.
func (r *Reconciler) networkSpec(vm *vmopv1.VirtualMachine, spec *vsphere.VMSpec) {
	list, networks := nics(vm)
	for i := range list {
		if addr, pool := r.ownAddress(vm, networks[i], i); addr != "" {
			list[i].IP = &vsphere.StaticIP{Address: addr, Netmask: pool.Netmask(), Gateway: pool.Gateway()}
		}
	}
	if len(vm.Spec.NetworkInterfaces) == 0 {
		spec.Network = list[0].IP
		return
	}
	spec.NICs = list
}

// ownAddress is NIC i's address from its network's pool as status records it, and the pool; ""
// on a network without a pool. The guest may report more addresses (IPv6, DHCP): this is the pool's.
func (r *Reconciler) ownAddress(vm *vmopv1.VirtualMachine, network string, i int) (string, *ippool.Pool) {
	pool := r.Networks[network]
	if pool == nil || i >= len(vm.Status.NetworkInterfaces) {
		return "", nil
	}
	for _, addr := range vm.Status.NetworkInterfaces[i].IpAddresses {
		if pool.Contains(addr) {
			return addr, pool
		}
	}
	return "", nil
}

// guestAddresses narrows what the guest reports of each NIC to what status may list: an address
// of another network's pool is the guest's configuration from before a network change and is
// left out, and the NIC's own address stays listed until the guest reports it.
func (r *Reconciler) guestAddresses(vm *vmopv1.VirtualMachine, cards []vsphere.NICState) {
	if len(r.Networks) == 0 {
		return
	}
	_, networks := nics(vm)
	for i := range min(len(cards), len(networks)) {
		own, _ := r.ownAddress(vm, networks[i], i)
		var ips []string
		for _, ip := range cards[i].IPs {
			if ip == own || !r.pooled(ip) {
				ips = append(ips, ip)
			}
		}
		if len(ips) > 0 && own != "" && !slices.Contains(ips, own) {
			ips = append([]string{own}, ips...)
		}
		cards[i].IPs = ips
	}
}

// applyNICs records what vSphere reports of each NIC; an address the guest does not report yet
// stays as allocated.
func applyNICs(status *vmopv1.VirtualMachineStatus, nics []vsphere.NICState) {
	for i, n := range nics {
		if i >= len(status.NetworkInterfaces) {
			status.NetworkInterfaces = append(status.NetworkInterfaces, vmopv1.NetworkInterfaceStatus{})
		}
		s := &status.NetworkInterfaces[i]
		s.MacAddress, s.Connected = n.MACAddress, n.Connected
		if len(n.IPs) > 0 {
			s.IpAddresses = n.IPs
		}
	}
}
