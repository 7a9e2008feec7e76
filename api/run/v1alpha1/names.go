package v1alpha1

// The objects VM Service makes for a TanzuKubernetesCluster are named after it, so users,
// admission and the controller agree on them without reading each other.

// ResourcePolicyName is the VirtualMachineSetResourcePolicy holding a cluster's VMs.
func ResourcePolicyName(cluster string) string { return cluster }

// ControlPlaneServiceName is the VirtualMachineService in front of a cluster's control plane.
func ControlPlaneServiceName(cluster string) string { return cluster + "-control-plane" }
