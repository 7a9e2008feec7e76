// Package fakeclient builds controller-runtime fake clients that know the product's scheme and
// field indexes, for unit specs.
package fakeclient

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/scheme"
)

// New returns a fake client holding objs, with every field index registered.
func New(objs ...client.Object) client.WithWatch {
	b := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...)
	for _, ix := range index.All() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	return b.Build()
}
