package virtualmachine

import (
	"context"
	"fmt"

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
// status.networkInterfaces, which only the manager writes. The first call after a start
// reserves every address recorded on any VM, so a restarted manager never hands one out twice.
func (r *Reconciler) allocateAddresses(ctx context.Context, vm *vmopv1.VirtualMachine) error {
	if len(r.Networks) == 0 {
		return nil
	}
	if err := r.reserveAddressesInUse(ctx); err != nil {
		return err
	}
	_, pools := nics(vm)
	status := make([]vmopv1.NetworkInterfaceStatus, len(pools))
	for i, network := range pools {
		pool := r.Networks[network]
		if pool == nil {
			continue // the network has DHCP
		}
		addr, err := pool.Allocate(ippool.Owner(string(vm.UID), i))
		if err != nil {
			return fmt.Errorf("address for NIC %d of %s/%s: %w", i, vm.Namespace, vm.Name, err)
		}
		status[i].IpAddresses = []string{addr}
	}
	vm.Status.NetworkInterfaces = status
	return nil
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
		// A VM made before addresses were recorded per NIC has its first one as its IP.
		for _, pool := range r.Networks {
			pool.Reserve(ippool.Owner(string(v.UID), 0), v.Status.VmIp)
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
	list, pools := nics(vm)
	for i := range list {
		pool := r.Networks[pools[i]]
		if pool == nil || i >= len(vm.Status.NetworkInterfaces) {
			continue
		}
		// The guest may report more addresses than the one allocated (IPv6, DHCP): take the pool's.
		for _, addr := range vm.Status.NetworkInterfaces[i].IpAddresses {
			if pool.Contains(addr) {
				list[i].IP = &vsphere.StaticIP{Address: addr, Netmask: pool.Netmask(), Gateway: pool.Gateway()}
				break
			}
		}
	}
	if len(vm.Spec.NetworkInterfaces) == 0 {
		spec.Network = list[0].IP
		return
	}
	spec.NICs = list
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
