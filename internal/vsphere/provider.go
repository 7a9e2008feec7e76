package vsphere

import (
	"context"
	"net/http"
	"sync"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// Provider is what a VirtualMachine controller needs from vSphere. Every method is idempotent,
// so a controller can call it again after any failure or restart.
type Provider interface {
	// EnsureVM makes the VM exist as spec says and returns what vSphere reports about it. A VM
	// that already exists is never resized: its class was applied when it was made.
	EnsureVM(ctx context.Context, spec VMSpec) (VMState, error)
	// DeleteVM powers the VM off and destroys it; a VM that is already gone is not an error.
	DeleteVM(ctx context.Context, ref VMRef) error
	// ListImages returns every item of the configured content library.
	ListImages(ctx context.Context) ([]Image, error)
}

// ResourcePolicies is what a VirtualMachineSetResourcePolicy controller needs from vSphere; both
// methods are idempotent.
type ResourcePolicies interface {
	// EnsureResourcePolicy makes a resource policy's child pool, folder and cluster modules exist
	// as spec says and returns them.
	EnsureResourcePolicy(ctx context.Context, spec ResourcePolicySpec) (ResourcePolicyState, error)
	// DeleteResourcePolicy removes a resource policy's modules, pool and folder, unless a VM is
	// still in its pool or folder (ErrResourcePolicyInUse).
	DeleteResourcePolicy(ctx context.Context, spec ResourcePolicySpec) error
}

// VMRef identifies a VirtualMachine's vSphere VM. InstanceUUID is what finds it, and, with
// Namespace, a VM whose creation was interrupted before that UUID was set (see DeployName); Name
// is the name the VM is given, never a way to find it.
type VMRef struct {
	Namespace string
	Name      string
	// InstanceUUID is the VM's vCenter instance UUID. The caller derives it from the
	// VirtualMachine's UID, so it is known before the VM exists and survives restarts.
	InstanceUUID string
	// Placement, when set, is the resource policy's child pool and folder the VM is made in, and
	// where an interrupted creation is looked for; nil is the namespace's pool and folder.
	Placement *Placement
}

// VMSpec is the VM a VirtualMachine asks for.
type VMSpec struct {
	VMRef
	// Image is the content library item the VM is deployed from.
	Image string
	// Sizing is the class's hardware and reservations; see SizingFromClass.
	Sizing Sizing
	// StoragePolicyID is the vSphere storage policy of the VM's storage class: the VM and its
	// disks are placed on a datastore the policy accepts. Empty uses the configured datastore.
	StoragePolicyID string
	// PowerState is the desired power state.
	PowerState vmopv1.VirtualMachinePowerState
	// MustExist makes EnsureVM make nothing: a VM that does not exist is ErrVMNotFound. It is set
	// for a VirtualMachine that may not have a new VM, such as one whose class was revoked.
	MustExist bool
	// Network, when set, gives the VM's first NIC a static address through guest
	// customization; it is applied only when the VM is made, and only when NICs is nil.
	Network *StaticIP
	// NICs, when not nil, are the VM's NICs in order: they replace the image's when the VM is
	// made, and an existing VM's follow them in one reconfigure (a card whose network changed is
	// edited in place, keeping its MAC). Static addresses reach the guest through customization
	// when the VM is made only. Nil keeps the NICs the VM has.
	NICs []NIC
	// GuestData, when not nil, gives what the VM's guest data sets (see internal/guestdata) from
	// its NICs as vSphere made them (the guest matches its network configuration by MAC
	// address). It is applied before the VM's first power on and kept in step afterwards. Nil
	// leaves the guest data as it is.
	GuestData func([]NICState) (GuestData, error)
	// Disks, when not nil, are the volume disks the VM must have: missing ones are added, smaller
	// ones grown, and volume disks not listed removed. Nil leaves them as they are.
	Disks []Disk
	// ClusterModule, when set, is the id of the cluster module the VM joins (before its first
	// power on when it is made); ErrClusterModuleNotFound when vCenter has no such module.
	ClusterModule string
}

// GuestData is what a VM's guest data sets in vSphere.
type GuestData struct {
	// ExtraConfig is every ExtraConfig key the guest data sets, by key: keys set before from
	// guest data and missing now are removed. Nil leaves them.
	ExtraConfig map[string]string
	// VAppProperties are the values of the VM's user-configurable vApp properties, by property
	// id: a property not listed gets no value, so the guest sees its OVF default. Nil leaves
	// them.
	VAppProperties map[string]string
}

// StaticIPs are the static addresses of the VM's NICs in order, nil for DHCP: NICs' when set, or
// Network for the image's first NIC.
func (s VMSpec) StaticIPs() []*StaticIP {
	if s.NICs == nil {
		return []*StaticIP{s.Network}
	}
	ips := make([]*StaticIP, len(s.NICs))
	for i, n := range s.NICs {
		ips[i] = n.IP
	}
	return ips
}

// StaticIP is a fixed IPv4 configuration for the VM's first NIC.
type StaticIP struct {
	// Address is the VM's IP address, such as 192.168.10.5.
	Address string
	// Netmask is the subnet mask, such as 255.255.255.0.
	Netmask string
	// Gateway is the default gateway; none when empty.
	Gateway string
	// DNSServers are the name servers; none when empty.
	DNSServers []string
}

// VMState is what vSphere reports about a VM, for the VirtualMachine's status.
type VMState struct {
	// MoID is the managed object id, such as vm-42 (status.uniqueID).
	MoID string
	// BiosUUID is config.uuid.
	BiosUUID string
	// InstanceUUID is config.instanceUuid.
	InstanceUUID string
	// Host is the name of the ESXi host the VM is registered on.
	Host string
	// IP is guest.ipAddress; empty until the guest (or customization) reports one.
	IP string
	// PowerState is the VM's power state; suspended is reported as poweredOff.
	PowerState vmopv1.VirtualMachinePowerState
	// Heartbeat is the VMware Tools heartbeat colour: green, yellow, red, or gray when Tools do
	// not run.
	Heartbeat string
	// Disks are the volume disks, by name, when the spec listed them.
	Disks []DiskState
	// NICs are the VM's network cards in device order.
	NICs []NICState
	// UndeclaredProperties names, sorted, the keys of the spec's GuestData.VAppProperties that
	// the VM has no user-configurable vApp property for: they were not applied.
	UndeclaredProperties []string
}

// Image is one content library item.
type Image struct {
	// Name is the library item name, which is what VirtualMachines refer to.
	Name string
	// ID is the library item id (VirtualMachineImage status.uuid).
	ID string
	// Type is the item type, such as ovf.
	Type string
	// ContentVersion changes whenever the item's files change.
	ContentVersion string
	// Description is the item's description.
	Description string
	// The fields below come from the item's OVF descriptor; they are empty for non-OVF items
	// or when the descriptor could not be read.

	// OSType is the vSphere guest id from the OperatingSystemSection, such as
	// vmwarePhoton64Guest.
	OSType string
	// Product, Vendor, Version and FullVersion come from the first ProductSection.
	Product, Vendor, Version, FullVersion string
}

var (
	_ Provider         = (*GovmomiProvider)(nil)
	_ ResourcePolicies = (*GovmomiProvider)(nil)
)

// GovmomiProvider implements Provider with govmomi. It is safe for concurrent use.
type GovmomiProvider struct {
	cfg     Config
	session *session

	// ovfCache holds what ListImages parsed from each item's OVF, keyed by item id and content
	// version, so listing a library does not download every descriptor every time.
	ovfMu    sync.Mutex
	ovfCache map[ovfCacheKey]ovfInfo
	// itemIDs are the content library's item ids by image name, as last listed or looked up.
	itemsMu sync.Mutex
	itemIDs map[string]string
}

// New returns a Provider for cfg. It does not connect: the first call logs in, so a manager can
// start while vCenter is down and report that on its objects.
func New(cfg Config) (*GovmomiProvider, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &GovmomiProvider{
		cfg:      cfg,
		session:  &session{cfg: cfg},
		ovfCache: map[ovfCacheKey]ovfInfo{},
		itemIDs:  map[string]string{},
	}, nil
}

// CheckLogin is a readiness check: it fails, saying what to fix, while vCenter refuses the
// manager's logins for a reason in its configuration (see session.misconfigured).
func (p *GovmomiProvider) CheckLogin(*http.Request) error { return p.session.misconfigured() }

// Logout ends the provider's vCenter sessions, for a clean shutdown.
func (p *GovmomiProvider) Logout(ctx context.Context) error {
	return p.session.logout(ctx)
}
