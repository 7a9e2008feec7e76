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
	// MachineSpecAnnotation records, on each VirtualMachine of a cluster, the spec it was made from
	// (class, storage class, release and image, as JSON), so a rollout compares what a machine was
	// made from with what its pool asks for now, never a class or release as it reads today.
	MachineSpecAnnotation = GroupName + "/machine-spec"
	// ReleaseLabel names, on a cluster, the TanzuKubernetesRelease its spec resolves to (the
	// release's object name, such as v1.20.2---vmware.1-tkg.2.3e10706), as TKG labels clusters.
	ReleaseLabel = GroupName + "/tkr"
)

// PausedAnnotation on a TanzuKubernetesCluster stops every change to its machines (no VM is
// created, replaced or deleted) until it is removed. It is Cluster API's key, so tools that pause
// Cluster API clusters pause these too; any value counts.
const PausedAnnotation = "cluster.x-k8s.io/paused"
