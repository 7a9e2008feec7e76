package scheme_test

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/test/objects"
)

func TestScheme(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "scheme suite")
}

var _ = Describe("The product scheme", func() {
	It("lets a client store and read every kind of both API groups", func() {
		ctx := context.Background()
		c := fake.NewClientBuilder().WithScheme(scheme.New()).Build()
		for _, obj := range []client.Object{
			objects.GuaranteedClass("guaranteed-small", 2, "4Gi"),
			objects.Binding("ns", "guaranteed-small", "guaranteed-small"),
			objects.VM("ns", "vm", "guaranteed-small", "ubuntu"),
			objects.Cluster("ns", "tkc", "guaranteed-small", "guaranteed-small"),
			objects.Release("v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2", "photon"),
		} {
			Expect(c.Create(ctx, obj)).To(Succeed())
			got := obj.DeepCopyObject().(client.Object)
			Expect(c.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
			Expect(got.GetName()).To(Equal(obj.GetName()))
		}
	})
})
