// Package fakeclient builds controller-runtime fake clients that know the product's scheme and
// field indexes, for unit specs.
package fakeclient

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/scheme"
)

// New returns a fake client holding objs, with every field index registered.
func New(objs ...client.Object) client.WithWatch {
	b := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...).
		// As the CRDs declare: status is written only through the status subresource.
		WithStatusSubresource(&vmopv1.VirtualMachine{}, &vmopv1.VirtualMachineClass{}, &vmopv1.VirtualMachineClassBinding{},
			&vmopv1.VirtualMachineImage{}, &runv1.TanzuKubernetesCluster{}, &runv1.TanzuKubernetesRelease{})
	for _, ix := range index.All() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	return b.Build()
}
