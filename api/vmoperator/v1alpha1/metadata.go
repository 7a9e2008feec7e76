package v1alpha1

// The finalizer and labels VM Service writes, declared once here. Label and annotation keys
// under this group's prefix (vmoperator.vmware.com/) belong to the product: on VirtualMachines
// and TanzuKubernetesClusters admission lets only the manager set, change or remove them.
const (
	// VirtualMachineFinalizer keeps a VirtualMachine until its vSphere VM is destroyed.
	VirtualMachineFinalizer = "virtualmachine.vmoperator.vmware.com"
	// VCenterSyncLabel marks the Namespaces, VirtualMachineClasses, VirtualMachineClassBindings
	// and storage objects the vCenter sync created. The sync updates and deletes only objects
	// that carry it.
	VCenterSyncLabel = GroupName + "/vcenter-sync"
	// VCenterSyncLabelValue is the value of VCenterSyncLabel on mirrored objects.
	VCenterSyncLabelValue = "true"
	// ImageSyncLabel marks the VirtualMachineImages and TanzuKubernetesReleases the image sync
	// made from the content library; it changes nothing else.
	ImageSyncLabel = GroupName + "/image-sync"
	// VirtualMachineSetResourcePolicyFinalizer keeps a policy until its cluster modules, resource
	// pool and folder are removed from vSphere.
	VirtualMachineSetResourcePolicyFinalizer = "virtualmachinesetresourcepolicy.vmoperator.vmware.com"
	// ClusterModuleGroupAnnotation on a VirtualMachine names the group of its resource policy
	// (spec.clustermodules) whose cluster module the VM joins once it exists in vSphere. It is
	// upstream's key, outside the product's prefix, so the owner of a VM may set it.
	ClusterModuleGroupAnnotation = "vsphere-cluster-module-group"
)

// The labels and annotations of the objects that back VirtualMachineServices.
const (
	// VirtualMachineServiceManagedBy is the EndpointSlice managed-by label value of the slices the
	// VirtualMachineService controller writes, so Kubernetes' own EndpointSlice controllers leave
	// them alone and ours leaves theirs.
	VirtualMachineServiceManagedBy = "virtualmachineservice-controller." + GroupName
	// LoadBalancerIPAnnotation records, on a LoadBalancer Service, the address the local
	// supervisor's load balancer gave it; a restarted allocator reserves these before it hands
	// out any other.
	LoadBalancerIPAnnotation = GroupName + "/load-balancer-ip"
)
