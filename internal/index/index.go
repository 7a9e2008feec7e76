// Package index owns the manager's cache indexes: one constant per indexed field and one
// function that registers them all, called once by the manager and once by each test suite.
package index

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/tkr"
)

// Most of these names are also selectable fields of their CRDs (see the API types), so the same
// selector reads the cache's index and the apiserver.
const (
	// BindingClassName indexes VirtualMachineClassBindings by classRef.name, the class they bind,
	// across namespaces only: read it with BindingsOfClass.
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
		{&vmopv1.VirtualMachine{}, VirtualMachineClassName, virtualMachineClassName},
		{&vmopv1.VirtualMachine{}, VirtualMachineImageName, virtualMachineImageName},
		{&vmopv1.VirtualMachine{}, VirtualMachineGuestData, virtualMachineGuestData},
		{&vmopv1.VirtualMachine{}, VirtualMachineResourcePolicyName, virtualMachineResourcePolicyName},
		{&runv1.TanzuKubernetesCluster{}, ClusterClassNames, clusterClassNames},
		{&runv1.TanzuKubernetesCluster{}, ClusterReleaseMinor, clusterReleaseMinor},
	}
}

// Register adds every index to c (a manager's cache or a cache of its own).
func Register(ctx context.Context, c cache.Cache) error {
	for _, ix := range All() {
		if err := c.IndexField(ctx, ix.Object, ix.Field, ix.Extract); err != nil {
			return fmt.Errorf("index %T by %s: %w", ix.Object, ix.Field, err)
		}
	}
	informer, err := c.GetInformer(ctx, &vmopv1.VirtualMachineClassBinding{})
	if err != nil {
		return fmt.Errorf("binding informer: %w", err)
	}
	// A field index of controller-runtime also keys every value by namespace: for 100,000
	// bindings, a set per binding (about 40 MiB) for lookups that class access answers otherwise.
	err = informer.AddIndexers(toolscache.Indexers{BindingClassName: func(obj any) ([]string, error) {
		return nonEmpty(obj.(*vmopv1.VirtualMachineClassBinding).ClassRef.Name), nil
	}})
	if err != nil {
		return fmt.Errorf("index bindings by %s: %w", BindingClassName, err)
	}
	return nil
}

// BindingsOfClass returns the bindings in c, in every namespace, that name class. They are the
// cache's own objects: read them, never modify them.
func BindingsOfClass(ctx context.Context, c cache.Informers, class string) ([]*vmopv1.VirtualMachineClassBinding, error) {
	store, err := indexer(ctx, c, &vmopv1.VirtualMachineClassBinding{})
	if err != nil {
		return nil, err
	}
	objs, err := store.ByIndex(BindingClassName, class)
	if err != nil {
		return nil, fmt.Errorf("bindings of class %q: %w", class, err)
	}
	out := make([]*vmopv1.VirtualMachineClassBinding, 0, len(objs))
	for _, obj := range objs {
		out = append(out, obj.(*vmopv1.VirtualMachineClassBinding))
	}
	return out, nil
}

// Cached returns the cluster-scoped object of obj's kind named name that c holds, or nil. It is
// the cache's own object, not a copy as a read through the cache's client returns: read it,
// never modify it.
func Cached(ctx context.Context, c cache.Informers, obj client.Object, name string) (client.Object, error) {
	store, err := indexer(ctx, c, obj)
	if err != nil {
		return nil, err
	}
	item, found, err := store.GetByKey(name)
	if err != nil {
		return nil, fmt.Errorf("look up %T %q: %w", obj, name, err)
	}
	if !found {
		return nil, nil
	}
	cached, ok := item.(client.Object)
	if !ok {
		return nil, fmt.Errorf("look up %T %q: the cache holds a %T", obj, name, item)
	}
	return cached, nil
}

// indexer is the store of the informer of obj's kind in c, synced.
func indexer(ctx context.Context, c cache.Informers, obj client.Object) (toolscache.Indexer, error) {
	informer, err := c.GetInformer(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("informer of %T: %w", obj, err)
	}
	indexed, ok := informer.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return nil, fmt.Errorf("informer of %T, a %T, has no indexer", obj, informer)
	}
	return indexed.GetIndexer(), nil
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
