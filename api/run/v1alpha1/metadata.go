package v1alpha1

// The finalizer and labels VM Service writes, declared once here. Label and annotation keys
// under this group's prefix (run.tanzu.vmware.com/) belong to the product: on VirtualMachines
// and TanzuKubernetesClusters admission lets only the manager set, change or remove them.
const (
	// TanzuKubernetesClusterFinalizer keeps a cluster until all its VirtualMachines are gone.
	TanzuKubernetesClusterFinalizer = "tanzukubernetescluster.run.tanzu.vmware.com"
	// ClusterNameLabel names the cluster a VirtualMachine was made for, so a person (and the
	// controller) can select a cluster's machines.
	ClusterNameLabel = GroupName + "/cluster-name"
	// PoolLabel names the pool of a cluster's VirtualMachine: control-plane or workers.
	PoolLabel = GroupName + "/pool"
)
