package v1alpha1

// Conditions and reasons of the vmoperator.vmware.com kinds. Each constant's name is its value
// with Condition or Reason after it; the VirtualMachine ones upstream has keep upstream's names,
// so clients written against the public vm-operator v1alpha1 API find them here.

// VirtualMachine conditions.
const (
	// VirtualMachinePrereqReadyCondition says whether the VM's class exists, is bound in the VM's
	// namespace, its image exists, and its storage class is assigned to the namespace.
	VirtualMachinePrereqReadyCondition ConditionType = "VirtualMachinePrereqReady"
	// VirtualMachineProvisionedCondition says whether the VM exists in vSphere as the spec says.
	VirtualMachineProvisionedCondition ConditionType = "VirtualMachineProvisioned"
	// VirtualMachineClassInSyncCondition says whether the class still has the spec the VM was made
	// with. The VM is never resized to follow a class edit; this condition tells users.
	VirtualMachineClassInSyncCondition ConditionType = "VirtualMachineClassInSync"
	// ReadyCondition says whether the VM is powered on with an address, ready to be used.
	ReadyCondition ConditionType = "Ready"
	// VirtualMachineMetadataReadyCondition says whether the VM's guest data (spec.vmMetadata) is
	// there and applied as given.
	VirtualMachineMetadataReadyCondition ConditionType = "VirtualMachineMetadataReady"
)

// VirtualMachine reasons.
const (
	// VirtualMachineClassNotFoundReason (VirtualMachinePrereqReady False, and a binding's
	// ClassFound False): no VirtualMachineClass has that name.
	VirtualMachineClassNotFoundReason = "VirtualMachineClassNotFound"
	// VirtualMachineClassBindingNotFoundReason (VirtualMachinePrereqReady False): the class is not
	// bound in the VM's namespace.
	VirtualMachineClassBindingNotFoundReason = "VirtualMachineClassBindingNotFound"
	// VirtualMachineImageNotFoundReason (VirtualMachinePrereqReady False): no VirtualMachineImage
	// (or content library item) has the VM's imageName.
	VirtualMachineImageNotFoundReason = "VirtualMachineImageNotFound"
	// StorageClassNotFoundReason (VirtualMachinePrereqReady False): the VM's storageClass is not
	// assigned to its namespace, or its StorageClass does not exist.
	StorageClassNotFoundReason = "StorageClassNotFound"

	// WaitingForPrereqsReason (VirtualMachineProvisioned False): nothing is made in vSphere until
	// the prerequisites hold.
	WaitingForPrereqsReason = "WaitingForPrereqs"
	// DeployingReason (VirtualMachineProvisioned Unknown): the deploy has started and may have
	// reached vSphere.
	DeployingReason = "Deploying"
	// VCenterUnreachableReason (VirtualMachineProvisioned False): vCenter could not be reached;
	// the controller retries and deletes nothing meanwhile.
	VCenterUnreachableReason = "VCenterUnreachable"
	// NetworkNotFoundReason (VirtualMachineProvisioned False): a network interface names a network
	// vCenter does not have; nothing is made until it exists.
	NetworkNotFoundReason = "NetworkNotFound"
	// IPAddressUnavailableReason (VirtualMachineProvisioned False): a NIC's network pool has no
	// free address.
	IPAddressUnavailableReason = "IPAddressUnavailable"
	// VirtualMachineNameTakenReason (VirtualMachineProvisioned False): a vSphere VM that VM
	// Service did not make for this VirtualMachine has its name in the namespace's folder; that VM
	// is never adopted, changed or destroyed, and nothing is made until the name is free.
	VirtualMachineNameTakenReason = "VirtualMachineNameTaken"
	// ProvisioningFailedReason (VirtualMachineProvisioned False): vCenter refused an operation.
	ProvisioningFailedReason = "ProvisioningFailed"

	// VirtualMachineClassChangedReason (VirtualMachineClassInSync False): the class was edited
	// after the VM was made.
	VirtualMachineClassChangedReason = "VirtualMachineClassChanged"

	// VirtualMachineMetadataNotFoundReason (VirtualMachineMetadataReady False): the ConfigMap or
	// Secret spec.vmMetadata names does not exist; a new VM waits for it.
	VirtualMachineMetadataNotFoundReason = "VirtualMachineMetadataNotFound"
	// VirtualMachineMetadataKeysIgnoredReason (VirtualMachineMetadataReady False): some keys of the
	// data are not applied by the transport; the message names them.
	VirtualMachineMetadataKeysIgnoredReason = "VirtualMachineMetadataKeysIgnored"
	// VirtualMachineMetadataInvalidReason (VirtualMachineMetadataReady False): the data cannot be
	// applied with the transport; the message says why.
	VirtualMachineMetadataInvalidReason = "VirtualMachineMetadataInvalid"
	// VirtualMachineMetadataPropertiesNotDeclaredReason (VirtualMachineMetadataReady False,
	// Warning): with transport OvfEnv, some keys of the data name no user-configurable vApp
	// property of the VM's image and are not applied; the message names them.
	VirtualMachineMetadataPropertiesNotDeclaredReason = "VirtualMachineMetadataPropertiesNotDeclared"
	// VirtualMachineMetadataPropertiesPendingReason (VirtualMachineMetadataReady Unknown): with
	// transport OvfEnv, which keys the image declares as vApp properties is known once the VM is
	// deployed.
	VirtualMachineMetadataPropertiesPendingReason = "VirtualMachineMetadataPropertiesPending"

	// NotProvisionedReason (Ready False): the VM does not exist in vSphere yet.
	NotProvisionedReason = "NotProvisioned"
	// PoweredOffReason (Ready False): the VM is powered off.
	PoweredOffReason = "PoweredOff"
	// ReadinessProbeFailedReason (Ready False): the VM's readiness probe did not pass; the message
	// says what it saw.
	ReadinessProbeFailedReason = "ReadinessProbeFailed"
	// WaitingForAddressReason (Ready False): the VM is on but the guest reports no address yet.
	WaitingForAddressReason = "WaitingForAddress"
)

// VirtualMachineClassBinding and VirtualMachineClass conditions and reasons.
const (
	// ClassFoundCondition is a binding's: True when the VirtualMachineClass it names exists; False
	// with VirtualMachineClassNotFoundReason until it does.
	ClassFoundCondition ConditionType = "ClassFound"

	// BoundCondition is a class's: True when a binding in some namespace names it.
	BoundCondition ConditionType = "Bound"
	// NotBoundReason (Bound False): no namespace may use the class yet.
	NotBoundReason = "NotBound"
)

// VirtualMachineService conditions and reasons.
const (
	// ServiceReadyCondition is a VirtualMachineService's: True when the Service that backs it is
	// as its spec says and, for a LoadBalancer, the load balancer has given it an address.
	ServiceReadyCondition ConditionType = "ServiceReady"
	// ServiceRefusedReason (ServiceReady False, Error): the apiserver refused the Service (such as
	// a clusterIp outside the service range or taken); the message is its answer.
	ServiceRefusedReason = "ServiceRefused"
	// LoadBalancerPendingReason (ServiceReady False, Info): the load balancer has not given the
	// service an address yet.
	LoadBalancerPendingReason = "LoadBalancerPending"
	// ServiceNameTakenReason (ServiceReady False, Error): a Service of the VirtualMachineService's
	// name exists that it does not control; it is never adopted, and no endpoints are written.
	ServiceNameTakenReason = "ServiceNameTaken"
	// ServiceNotObservedReason (ServiceReady Unknown): the Service could not be read or written
	// this pass; the controller retries.
	ServiceNotObservedReason = "ServiceNotObserved"

	// EndpointsReadyCondition is a VirtualMachineService's: True when at least one selected VM
	// receives its traffic (always True for ExternalName, which has no endpoints).
	EndpointsReadyCondition ConditionType = "EndpointsReady"
	// NoReadyVirtualMachinesReason (EndpointsReady False, Warning): no VM the selector picks is
	// powered on with an address and Ready; the message counts those that match.
	NoReadyVirtualMachinesReason = "NoReadyVirtualMachines"
	// EndpointAddressNotAllowedReason (EndpointsReady False, Warning): some ready VMs have an
	// address the apiserver refuses in an EndpointSlice (loopback, link-local or unspecified) and
	// are left out; the message names them.
	EndpointAddressNotAllowedReason = "EndpointAddressNotAllowed"
	// EndpointsNotObservedReason (EndpointsReady Unknown): the selected VMs have not been read yet.
	EndpointsNotObservedReason = "EndpointsNotObserved"
)

// VirtualMachineSetResourcePolicy reasons (of its Ready condition), and the VirtualMachine
// reasons for a VM waiting on its policy.
const (
	// ResourcePolicyCreationFailedReason (Ready False): vCenter refused to make the pool, folder
	// or a cluster module; the message says which and why.
	ResourcePolicyCreationFailedReason = "ResourcePolicyCreationFailed"
	// ResourcePolicyPendingReason (Ready Unknown): the policy has not been made in vSphere yet.
	ResourcePolicyPendingReason = "ResourcePolicyPending"
	// ResourcePolicyInUseReason (Ready False, while deleted): VirtualMachines still name the
	// policy, or VMs are still in its pool or folder; nothing is removed until they are gone.
	ResourcePolicyInUseReason = "ResourcePolicyInUse"

	// VirtualMachineSetResourcePolicyNotFoundReason (VirtualMachinePrereqReady False): no
	// VirtualMachineSetResourcePolicy in the VM's namespace has its spec.resourcePolicyName; the
	// VM is made once it exists and is ready.
	VirtualMachineSetResourcePolicyNotFoundReason = "VirtualMachineSetResourcePolicyNotFound"
	// VirtualMachineSetResourcePolicyNotReadyReason (VirtualMachinePrereqReady False): the policy
	// exists but its pool, folder or the cluster module the VM joins is not made yet, or it is
	// being deleted.
	VirtualMachineSetResourcePolicyNotReadyReason = "VirtualMachineSetResourcePolicyNotReady"
)
