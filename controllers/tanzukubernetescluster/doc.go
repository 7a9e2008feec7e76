// Package tanzukubernetescluster owns TanzuKubernetesClusters: it expands a cluster's topology into
// VirtualMachines owned by the cluster, scales them up and down, deletes them with the cluster,
// and aggregates their state into the cluster's phase, conditions, node and VM status, the way
// `kubectl get tkc` and `kubectl describe tkc` show them in the walkthrough.
//
// Machine names are derived from the cluster's UID, the pool and the machine's index, so the
// set of machines that should exist is computed from the spec alone, with no bookkeeping.
//
// Before it creates a VM the controller asks classaccess.Check whether the cluster's namespace
// may use the pool's class; when it may not, the machine is recorded as blocked and the cluster
// fails with the reason, until a binding appears and the cluster recovers by itself. Revoking a
// binding never deletes a VM: it only blocks new ones.
//
// No guest Kubernetes runs here: a node counts as healthy when its VM is powered on and has an
// IP address. nodeStatus and vmStatus therefore carry the same state.
package tanzukubernetescluster
