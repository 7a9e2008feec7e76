// Package index owns the manager's field indexes: one constant per indexed field and one
// function that registers them all, called once by the manager and once by each test suite.
package index

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

const (
	// BindingClassName indexes VirtualMachineClassBindings by classRef.name, the class they bind.
	BindingClassName = "classRef.name"
	// VirtualMachineClassName indexes VirtualMachines by spec.className.
	VirtualMachineClassName = "spec.className"
	// VirtualMachineImageName indexes VirtualMachines by spec.imageName.
	VirtualMachineImageName = "spec.imageName"
	// ClusterClassNames indexes TanzuKubernetesClusters by every class their topology uses.
	ClusterClassNames = "spec.topology.classes"
)

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
		{&runv1.TanzuKubernetesCluster{}, ClusterClassNames, clusterClassNames},
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

func clusterClassNames(obj client.Object) []string {
	topology := obj.(*runv1.TanzuKubernetesCluster).Spec.Topology
	cp, workers := topology.ControlPlane.Class, topology.Workers.Class
	if cp == workers {
		return nonEmpty(cp)
	}
	return append(nonEmpty(cp), nonEmpty(workers)...)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
