package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// VirtualMachinePowerState is the power state of a VM.
// +kubebuilder:validation:Enum=poweredOff;poweredOn
type VirtualMachinePowerState string

const (
	// VirtualMachinePoweredOff means the VM is off.
	VirtualMachinePoweredOff VirtualMachinePowerState = "poweredOff"
	// VirtualMachinePoweredOn means the VM is on.
	VirtualMachinePoweredOn VirtualMachinePowerState = "poweredOn"
)

// VMStatusPhase is where a VM is in its life.
type VMStatusPhase string

const (
	// Creating means the VM is waiting for its prerequisites or being made in vSphere.
	Creating VMStatusPhase = "Creating"
	// Created means the VM exists in vSphere.
	Created VMStatusPhase = "Created"
	// Deleting means the VM is being removed from vSphere.
	Deleting VMStatusPhase = "Deleting"
	// Deleted means the VM is gone from vSphere.
	Deleted VMStatusPhase = "Deleted"
	// Unknown means the VM's state could not be read.
	Unknown VMStatusPhase = "Unknown"
)

// VirtualMachinePort is a port the VM exposes; kept for compatibility with existing manifests.
type VirtualMachinePort struct {
	// Port number.
	Port int `json:"port"`
	// Ip the port listens on.
	Ip string `json:"ip"`
	// Name of the port.
	Name string `json:"name"`
	// Protocol of the port: TCP, UDP or SCTP.
	Protocol corev1.Protocol `json:"protocol"`
}

// NetworkInterfaceProviderReference names an object that provides a network interface.
type NetworkInterfaceProviderReference struct {
	// APIGroup of the provider.
	APIGroup string `json:"apiGroup"`
	// Kind of the provider.
	Kind string `json:"kind"`
	// Name of the provider.
	Name string `json:"name"`
	// APIVersion of the provider.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
}

// VirtualMachineNetworkInterface attaches the VM to a network.
type VirtualMachineNetworkInterface struct {
	// NetworkType is the kind of network: vsphere-distributed (a distributed port group named
	// networkName), or empty for the namespace's default workload network. nsx-t is refused: this
	// release supports vSphere networking only.
	// +optional
	NetworkType string `json:"networkType,omitempty"`
	// NetworkName is the distributed port group's name; only with networkType vsphere-distributed.
	// +optional
	NetworkName string `json:"networkName,omitempty"`
	// ProviderRef names an object that provides the interface. Refused in this release.
	// +optional
	ProviderRef *NetworkInterfaceProviderReference `json:"providerRef,omitempty"`
	// EthernetCardType is the virtual NIC model: vmxnet3 (the default), vmxnet2, e1000e, e1000
	// or pcnet32.
	// +optional
	EthernetCardType string `json:"ethernetCardType,omitempty"`
}

// VirtualMachineMetadataTransport is how metadata reaches the guest.
// +kubebuilder:validation:Enum=ExtraConfig;OvfEnv;CloudInit
type VirtualMachineMetadataTransport string

const (
	// VirtualMachineMetadataExtraConfigTransport sets each guestinfo.* key of the data as a VM
	// ExtraConfig entry, which the guest reads with VMware Tools (vmtoolsd --cmd "info-get ...").
	VirtualMachineMetadataExtraConfigTransport VirtualMachineMetadataTransport = "ExtraConfig"
	// VirtualMachineMetadataOvfEnvTransport sets each key of the data as the value of the
	// image's OVF vApp property with that key, which the guest reads in its OVF environment.
	VirtualMachineMetadataOvfEnvTransport VirtualMachineMetadataTransport = "OvfEnv"
	// VirtualMachineMetadataCloudInitTransport hands the data's user-data (or only its
	// ssh-public-keys) to cloud-init's VMware datasource.
	VirtualMachineMetadataCloudInitTransport VirtualMachineMetadataTransport = "CloudInit"
)

// VirtualMachineMetadata is data handed to the guest, such as cloud-init user data. It is applied
// when the VM is made and kept in step with the ConfigMap or Secret afterwards; a VM whose
// ConfigMap or Secret is missing is not made until it appears.
type VirtualMachineMetadata struct {
	// ConfigMapName names a ConfigMap in the VM's namespace holding the data. Set it or
	// secretName, not both.
	// +optional
	ConfigMapName string `json:"configMapName,omitempty"`
	// SecretName names a Secret in the VM's namespace holding the data; its values never appear
	// in the product's logs, events or status. They do reach the VM's ExtraConfig or vApp
	// properties, which vCenter users who may read the VM and processes in the guest can read.
	// Set it or configMapName, not both.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// Transport is how the data reaches the guest. ExtraConfig (the default): each key starting
	// with guestinfo. becomes a VM ExtraConfig entry; other keys are left out, and the
	// VirtualMachineMetadataReady condition names them. CloudInit: the key user-data (plain or
	// base64) becomes guestinfo.userdata, or, without it, the key ssh-public-keys (one key per
	// line) authorizes those keys for the image's default user; guestinfo.metadata carries the
	// VM's instance id (its UID), host name and network. OvfEnv: each key sets the value of the
	// user-configurable OVF vApp property with that key, which the guest reads in its OVF
	// environment; a property whose key is not in the data has no value, so the guest sees its
	// OVF default; keys the image declares no such property for are left out, and the
	// VirtualMachineMetadataReady condition names them. With any other transport the VM's vApp
	// properties have no values.
	// +optional
	Transport VirtualMachineMetadataTransport `json:"transport,omitempty"`
}

// VirtualMachineVolume is a disk attached to the VM.
type VirtualMachineVolume struct {
	// Name of the volume, unique within the VM.
	Name string `json:"name"`
	// PersistentVolumeClaim backs the volume with a claim in the VM's namespace.
	// +optional
	PersistentVolumeClaim *corev1.PersistentVolumeClaimVolumeSource `json:"persistentVolumeClaim,omitempty"`
	// VsphereVolume is a disk managed by vSphere directly.
	// +optional
	VsphereVolume *VsphereVolumeSource `json:"vSphereVolume,omitempty"`
}

// VsphereVolumeSource is a disk managed by vSphere directly.
type VsphereVolumeSource struct {
	// Capacity of the disk, under the key ephemeral-storage (as upstream) or storage. The disk
	// is added in the VM's directory, grown when the capacity grows; shrinking is refused.
	// +optional
	Capacity corev1.ResourceList `json:"capacity,omitempty"`
	// DeviceKey is the vSphere device key of an existing disk. Refused in this release.
	// +optional
	DeviceKey *int `json:"deviceKey,omitempty"`
}

// Size is the disk's capacity: the ephemeral-storage key, else storage; false when neither is set.
func (v VsphereVolumeSource) Size() (resource.Quantity, bool) {
	for _, k := range []corev1.ResourceName{corev1.ResourceEphemeralStorage, corev1.ResourceStorage} {
		if q, ok := v.Capacity[k]; ok {
			return q, true
		}
	}
	return resource.Quantity{}, false
}

// Probe checks whether the guest is ready. Set exactly one action.
type Probe struct {
	// TCPSocket connects to a port of the guest.
	// +optional
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
	// GuestHeartbeat reads the VMware Tools heartbeat.
	// +optional
	GuestHeartbeat *GuestHeartbeatAction `json:"guestHeartbeat,omitempty"`
	// TimeoutSeconds after which a TCP probe fails, 1-60; default 10.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=60
	// +optional
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
	// PeriodSeconds between probes, at least 1; default 10.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +optional
	PeriodSeconds int32 `json:"periodSeconds,omitempty"`
}

// TCPSocketAction connects to a TCP port.
type TCPSocketAction struct {
	// Port to connect to, 1-65535; a VM has no named ports.
	Port intstr.IntOrString `json:"port"`
	// Host to connect to; the VM's IP when empty.
	// +optional
	Host string `json:"host,omitempty"`
}

// GuestHeartbeatStatus is a VMware Tools heartbeat colour.
// +kubebuilder:validation:Enum=yellow;green
type GuestHeartbeatStatus string

// GuestHeartbeatAction reads the VMware Tools heartbeat.
type GuestHeartbeatAction struct {
	// ThresholdStatus is the worst heartbeat counted as ready: green (the default) or yellow.
	// +kubebuilder:default=green
	// +optional
	ThresholdStatus GuestHeartbeatStatus `json:"thresholdStatus,omitempty"`
}

// VirtualMachineAdvancedOptions are rarely needed settings.
type VirtualMachineAdvancedOptions struct {
	// DefaultVolumeProvisioningOptions apply to volumes that set none.
	// +optional
	DefaultVolumeProvisioningOptions *VirtualMachineVolumeProvisioningOptions `json:"defaultVolumeProvisioningOptions,omitempty"`
	// ChangeBlockTracking turns on changed block tracking for backups.
	// +optional
	ChangeBlockTracking *bool `json:"changeBlockTracking,omitempty"`
}

// VirtualMachineVolumeProvisioningOptions say how disks are provisioned.
type VirtualMachineVolumeProvisioningOptions struct {
	// ThinProvisioned disks grow as they are written.
	// +optional
	ThinProvisioned *bool `json:"thinProvisioned,omitempty"`
	// EagerZeroed disks are zeroed when made.
	// +optional
	EagerZeroed *bool `json:"eagerZeroed,omitempty"`
}

// VirtualMachineVolumeStatus is the state of one volume.
type VirtualMachineVolumeStatus struct {
	// Name of the volume.
	Name string `json:"name"`
	// Attached says whether the disk is attached.
	Attached bool `json:"attached"`
	// DiskUuid is the disk's UUID.
	DiskUuid string `json:"diskUUID"`
	// Error says why the volume could not be attached.
	Error string `json:"error"`
}

// NetworkInterfaceStatus is the state of one network interface.
type NetworkInterfaceStatus struct {
	// Connected says whether the interface is connected.
	Connected bool `json:"connected"`
	// MacAddress of the interface.
	// +optional
	MacAddress string `json:"macAddress,omitempty"`
	// IpAddresses of the interface.
	// +optional
	IpAddresses []string `json:"ipAddresses,omitempty"`
}

// VirtualMachineSpec is the VM a user wants.
type VirtualMachineSpec struct {
	// ImageName names the VirtualMachineImage the VM is deployed from.
	// +kubebuilder:validation:MinLength=1
	// +required
	ImageName string `json:"imageName"`

	// ClassName names the VirtualMachineClass that sizes the VM. The class must be bound in the
	// VM's namespace by a VirtualMachineClassBinding.
	// +kubebuilder:validation:MinLength=1
	// +required
	ClassName string `json:"className"`

	// PowerState is the desired power state: poweredOn or poweredOff.
	// +required
	PowerState VirtualMachinePowerState `json:"powerState"`

	// Ports the VM exposes. Refused: upstream v1alpha1 deprecated the field and acted on it no
	// more than this release does; objects stored with it keep it.
	// +optional
	Ports []VirtualMachinePort `json:"ports,omitempty"`

	// VmMetadata is data handed to the guest, from a ConfigMap or Secret in the VM's namespace:
	// applied before the VM first powers on and kept in step when the data changes.
	// +optional
	VmMetadata *VirtualMachineMetadata `json:"vmMetadata,omitempty"`

	// StorageClass names the storage class whose vSphere storage policy places the VM and its
	// disks: a datastore the policy accepts is picked when the VM is made. It must be assigned to
	// the VM's namespace (its storage ResourceQuota names them); empty takes the manager's
	// datastore. Fixed once the VM exists.
	// +optional
	StorageClass string `json:"storageClass,omitempty"`

	// NetworkInterfaces replace the image's NICs, one NIC each, in order; without them the VM keeps
	// its image's NICs as the image attaches them, the first with an address from the default
	// network's pool. Each NIC on a network with an address pool gets a static address from it
	// (status.networkInterfaces). Edits reach the running VM in place: a NIC moved to another
	// network keeps its MAC and gets an address there; a changed card type replaces the card.
	// Once the deploy has started the list may change but not be emptied.
	// +optional
	NetworkInterfaces []VirtualMachineNetworkInterface `json:"networkInterfaces,omitempty"`

	// ResourcePolicyName names a VirtualMachineSetResourcePolicy of the VM's namespace: the VM is
	// made in its resource pool and folder, and joins the cluster module its annotation
	// vsphere-cluster-module-group names. A VM whose policy does not exist or is not ready waits.
	// Fixed once the VM exists in vSphere.
	// +optional
	ResourcePolicyName string `json:"resourcePolicyName,omitempty"`

	// Volumes are disks added to the VM besides its image's: each vSphereVolume is a virtual disk
	// of its capacity, added, grown (never shrunk) or removed as this list changes, without
	// re-creating the VM. persistentVolumeClaim is refused: it needs the vSphere CSI driver, which
	// is not part of this release.
	// +optional
	// +listType=map
	// +listMapKey=name
	Volumes []VirtualMachineVolume `json:"volumes,omitempty"`

	// ReadinessProbe checks whether the guest is ready, every periodSeconds (default 10) once the
	// VM is on: tcpSocket connects to a port of the VM's address (or host), guestHeartbeat reads
	// the VMware Tools heartbeat. Its verdict is the Ready condition. Without a probe, Ready says
	// whether the VM is powered on with an address.
	// +optional
	ReadinessProbe *Probe `json:"readinessProbe,omitempty"`

	// AdvancedOptions are rarely needed settings. Refused in this release.
	// +optional
	AdvancedOptions *VirtualMachineAdvancedOptions `json:"advancedOptions,omitempty"`
}

// AppliedClass is the class as it was when the VM was made in vSphere, so a later edit of the
// class never changes a running VM silently.
type AppliedClass struct {
	// Name of the class.
	Name string `json:"name"`
	// Generation of the class that was applied.
	// +optional
	Generation int64 `json:"generation,omitempty"`
	// Spec of the class that was applied.
	Spec VirtualMachineClassSpec `json:"spec"`
}

// VirtualMachineStatus is the VM as it is.
type VirtualMachineStatus struct {
	// Host is the ESXi host the VM runs on.
	// +optional
	Host string `json:"host,omitempty"`

	// PowerState is the VM's power state in vSphere.
	// +optional
	PowerState VirtualMachinePowerState `json:"powerState,omitempty"`

	// Phase is where the VM is in its life: Creating, Created, Deleting, Deleted or Unknown.
	// +optional
	Phase VMStatusPhase `json:"phase,omitempty"`

	// Conditions describe the VM's state. VirtualMachinePrereqReady says whether the class, its
	// binding in this namespace and the image are all there.
	// +optional
	Conditions Conditions `json:"conditions,omitempty"`

	// VmIp is the VM's primary IP address.
	// +optional
	VmIp string `json:"vmIp,omitempty"`

	// UniqueID is the vSphere managed object id of the VM, such as vm-42.
	// +optional
	UniqueID string `json:"uniqueID,omitempty"`

	// BiosUUID is the VM's BIOS UUID.
	// +optional
	BiosUUID string `json:"biosUUID,omitempty"`

	// InstanceUUID is the VM's vCenter instance UUID, derived from this object's UID so a
	// retried create finds the VM it already made.
	// +optional
	InstanceUUID string `json:"instanceUUID,omitempty"`

	// Volumes is the state of each volume.
	// +optional
	Volumes []VirtualMachineVolumeStatus `json:"volumes,omitempty"`

	// ChangeBlockTracking says whether changed block tracking is on.
	// +optional
	ChangeBlockTracking *bool `json:"changeBlockTracking,omitempty"`

	// NetworkInterfaces is the state of each network interface.
	// +optional
	NetworkInterfaces []NetworkInterfaceStatus `json:"networkInterfaces,omitempty"`

	// Class is the class as applied when the VM was made.
	// +optional
	Class *AppliedClass `json:"class,omitempty"`

	// ObservedGeneration is the generation of the spec last reconciled without error.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// VirtualMachine is a vSphere VM in a namespace, sized by a VirtualMachineClass bound there and
// deployed from a VirtualMachineImage.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=vm
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:selectablefield:JSONPath=".spec.className"
// +kubebuilder:selectablefield:JSONPath=".spec.resourcePolicyName"
// +kubebuilder:printcolumn:name="PowerState",type="string",JSONPath=".status.powerState"
// +kubebuilder:printcolumn:name="Class",type="string",priority=1,JSONPath=".spec.className"
// +kubebuilder:printcolumn:name="Image",type="string",priority=1,JSONPath=".spec.imageName"
// +kubebuilder:printcolumn:name="Primary-IP",type="string",priority=1,JSONPath=".status.vmIp"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type VirtualMachine struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VirtualMachineSpec   `json:"spec,omitempty"`
	Status VirtualMachineStatus `json:"status,omitempty"`
}

// VirtualMachineList is a list of VirtualMachines.
// +kubebuilder:object:root=true
type VirtualMachineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualMachine `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualMachine{}, &VirtualMachineList{})
}
