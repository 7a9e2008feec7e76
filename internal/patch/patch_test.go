package patch_test

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/patch"
	"github.com/vm-service/vm-service/test/fakeclient"
	"github.com/vm-service/vm-service/test/objects"
)

func TestPatch(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "patch suite")
}

var _ = Describe("Helper", func() {
	var (
		ctx                 = context.Background()
		c                   client.Client
		patches, statusPats int
		vm                  *vmopv1.VirtualMachine
	)
	BeforeEach(func() {
		patches, statusPats = 0, 0
		vm = objects.VM("ns", "vm", "small", "ubuntu")
		c = interceptor.NewClient(fakeclient.New(vm.DeepCopy()), interceptor.Funcs{
			Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
				patches++
				return cl.Patch(ctx, obj, p, opts...)
			},
			SubResourcePatch: func(ctx context.Context, cl client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				statusPats++
				return cl.SubResource(sub).Patch(ctx, obj, p, opts...)
			},
		})
		Expect(c.Get(ctx, client.ObjectKeyFromObject(vm), vm)).To(Succeed())
	})

	It("writes nothing when nothing changed", func() {
		Expect(patch.NewHelper(vm, c).Patch(ctx, vm)).To(Succeed())
		Expect(patches + statusPats).To(BeZero())
	})

	It("writes only status when only status changed", func() {
		h := patch.NewHelper(vm, c)
		vm.Status.Phase = vmopv1.Created
		Expect(h.Patch(ctx, vm)).To(Succeed())
		Expect([]int{patches, statusPats}).To(Equal([]int{0, 1}))
	})

	It("writes a finalizer and status together, keeping both", func() {
		h := patch.NewHelper(vm, c)
		controllerutil.AddFinalizer(vm, "example.com/finalizer")
		vm.Status.Phase = vmopv1.Creating
		Expect(h.Patch(ctx, vm)).To(Succeed())
		Expect([]int{patches, statusPats}).To(Equal([]int{1, 1}))

		got := &vmopv1.VirtualMachine{}
		Expect(c.Get(ctx, client.ObjectKeyFromObject(vm), got)).To(Succeed())
		Expect(got.Finalizers).To(ConsistOf("example.com/finalizer"))
		Expect(got.Status.Phase).To(Equal(vmopv1.Creating))

		By("diffing against what it last wrote")
		Expect(h.Patch(ctx, vm)).To(Succeed())
		Expect([]int{patches, statusPats}).To(Equal([]int{1, 1}))
	})
})
