// Package index owns the manager's field indexes: one constant per indexed field and one
// function that registers them all, called once by the manager and once by each test suite.
package index

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/tkr"
)

// The first two names are also selectable fields of their CRDs (see the API types), so the same
// selector reads the cache's index and, to confirm a refusal, the apiserver.
const (
	// BindingClassName indexes VirtualMachineClassBindings by classRef.name, the class they bind.
	BindingClassName = "classRef.name"
	// VirtualMachineClassName indexes VirtualMachines by spec.className.
	VirtualMachineClassName = "spec.className"
	// VirtualMachineImageName indexes VirtualMachines by spec.imageName.
	VirtualMachineImageName = "spec.imageName"
	// VirtualMachineResourcePolicyName indexes VirtualMachines by spec.resourcePolicyName; it is a
	// selectable field of the VM CRD too, so the policy delete guard asks the apiserver the same.
	VirtualMachineResourcePolicyName = "spec.resourcePolicyName"
	// VirtualMachineGuestData indexes VirtualMachines by the ConfigMap or Secret their guest data
	// comes from, as GuestDataSource spells it.
	VirtualMachineGuestData = "spec.vmMetadata.source"
	// ClusterClassNames indexes TanzuKubernetesClusters by every class their topology uses.
	ClusterClassNames = "spec.topology.classes"
	// ClusterControlPlaneClass and ClusterWorkersClass are selectable fields of the cluster CRD,
	// for reading a class's clusters from the apiserver, where one selector names one field.
	ClusterControlPlaneClass = "spec.topology.controlPlane.class"
	ClusterWorkersClass      = "spec.topology.workers.class"
	// ClusterReleaseMinor indexes TanzuKubernetesClusters by the Kubernetes minor of their
	// release (spec.distribution.fullVersion), such as v1.20, as ReleaseMinor spells it: a
	// release event concerns only the clusters of its minor and those still unresolved.
	ClusterReleaseMinor = "spec.distribution.releaseMinor"
)

// UnresolvedRelease is the ClusterReleaseMinor value of a cluster whose fullVersion is empty or
// does not parse: such a cluster waits for any release, so every release event looks it up.
const UnresolvedRelease = "unresolved"

// Index is one field index: the objects it covers, its field name and how values are read.
type Index struct {
	Object  client.Object
	Field   string
	Extract client.IndexerFunc
}

// All returns the product's field indexes.
func All() []Index {
	return []Index{
		{&vmopv1.VirtualMachineClassBinding{}, BindingClassName, bindingClassName},
		{&vmopv1.VirtualMachine{}, VirtualMachineClassName, virtualMachineClassName},
		{&vmopv1.VirtualMachine{}, VirtualMachineImageName, virtualMachineImageName},
		{&vmopv1.VirtualMachine{}, VirtualMachineGuestData, virtualMachineGuestData},
		{&vmopv1.VirtualMachine{}, VirtualMachineResourcePolicyName, virtualMachineResourcePolicyName},
		{&runv1.TanzuKubernetesCluster{}, ClusterClassNames, clusterClassNames},
		{&runv1.TanzuKubernetesCluster{}, ClusterReleaseMinor, clusterReleaseMinor},
	}
}

// Register adds every index to the indexer (a manager's or a cache's).
func Register(ctx context.Context, indexer client.FieldIndexer) error {
	for _, ix := range All() {
		if err := indexer.IndexField(ctx, ix.Object, ix.Field, ix.Extract); err != nil {
			return fmt.Errorf("index %T by %s: %w", ix.Object, ix.Field, err)
		}
	}
	return nil
}

func bindingClassName(obj client.Object) []string {
	return nonEmpty(obj.(*vmopv1.VirtualMachineClassBinding).ClassRef.Name)
}

func virtualMachineClassName(obj client.Object) []string {
	return nonEmpty(obj.(*vmopv1.VirtualMachine).Spec.ClassName)
}

func virtualMachineImageName(obj client.Object) []string {
	return nonEmpty(obj.(*vmopv1.VirtualMachine).Spec.ImageName)
}

func virtualMachineResourcePolicyName(obj client.Object) []string {
	return nonEmpty(obj.(*vmopv1.VirtualMachine).Spec.ResourcePolicyName)
}

func virtualMachineGuestData(obj client.Object) []string {
	md := obj.(*vmopv1.VirtualMachine).Spec.VmMetadata
	if md == nil {
		return nil
	}
	var out []string
	if md.ConfigMapName != "" {
		out = append(out, GuestDataSource("ConfigMap", md.ConfigMapName))
	}
	if md.SecretName != "" {
		out = append(out, GuestDataSource("Secret", md.SecretName))
	}
	return out
}

// GuestDataSource is the VirtualMachineGuestData value of a ConfigMap or Secret (kind) named
// name: both kinds share the index, so the value carries the kind.
func GuestDataSource(kind, name string) string { return kind + "/" + name }

func clusterClassNames(obj client.Object) []string {
	topology := obj.(*runv1.TanzuKubernetesCluster).Spec.Topology
	cp, workers := topology.ControlPlane.Class, topology.Workers.Class
	if cp == workers {
		return nonEmpty(cp)
	}
	return append(nonEmpty(cp), nonEmpty(workers)...)
}

func clusterReleaseMinor(obj client.Object) []string {
	return []string{ReleaseMinor(obj.(*runv1.TanzuKubernetesCluster).Spec.Distribution.FullVersion)}
}

// ReleaseMinor is the ClusterReleaseMinor value of a release version: "v<major>.<minor>", or
// UnresolvedRelease when the version does not parse. Both the index and its readers use it, so
// the two spellings cannot drift apart.
func ReleaseMinor(version string) string {
	v, err := tkr.Parse(version)
	if err != nil {
		return UnresolvedRelease
	}
	return fmt.Sprintf("v%d.%d", v.Major(), v.Minor())
}

// PreviousReleaseMinor is the ClusterReleaseMinor value of the minor before a release version's
// ("v1.20" for v1.21.6+vmware.1), whose clusters may upgrade to it; "" when there is none.
func PreviousReleaseMinor(version string) string {
	v, err := tkr.Parse(version)
	if err != nil || v.Minor() == 0 {
		return ""
	}
	return fmt.Sprintf("v%d.%d", v.Major(), v.Minor()-1)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
