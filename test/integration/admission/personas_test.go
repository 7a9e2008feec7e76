package admission_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

var _ = Describe("A namespace editor", func() {
	var (
		ns  string
		dev *testenv.User
	)
	BeforeEach(func() {
		ns = newNamespace()
		bind(ns, "best-effort-xsmall")
		dev = newEditor(ns)
	})

	It("reads classes and bindings, and manages VMs and clusters with bound classes", func() {
		Expect(dev.Client.List(ctx, &vmopv1.VirtualMachineClassList{})).To(Succeed())
		Expect(dev.Client.List(ctx, &vmopv1.VirtualMachineClassBindingList{}, client.InNamespace(ns))).To(Succeed())
		vm := objects.VM(ns, "mine", "best-effort-xsmall", "ubuntu")
		created(dev.Client, vm)
		Expect(dev.Client.Delete(ctx, vm)).To(Succeed())
		created(dev.Client, objects.Cluster(ns, "mine", "best-effort-xsmall", "best-effort-xsmall"))
	})

	It("is refused an unbound class by the webhook, with the same message as an admin", func() {
		ensureClasses("guaranteed-2xlarge")
		err := dev.Client.Create(ctx, objects.VM(ns, "vm", "guaranteed-2xlarge", "ubuntu"))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring(`is not bound in namespace "%s" (bound here: best-effort-xsmall)`, ns))
	})

	It("cannot create, change or delete bindings or classes", func() {
		ensureClasses("guaranteed-2xlarge")
		Expect(apierrors.IsForbidden(dev.Client.Create(ctx, objects.Binding(ns, "sneaky", "guaranteed-2xlarge")))).To(BeTrue())
		b := &vmopv1.VirtualMachineClassBinding{}
		Expect(dev.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "best-effort-xsmall"}, b)).To(Succeed())
		b.Labels = map[string]string{"changed": "yes"}
		Expect(apierrors.IsForbidden(dev.Client.Update(ctx, b))).To(BeTrue())
		Expect(apierrors.IsForbidden(dev.Client.Delete(ctx, b))).To(BeTrue())
		Expect(apierrors.IsForbidden(dev.Client.Create(ctx, objects.BestEffortClass("mine", 64, "1Ti")))).To(BeTrue())
		Expect(apierrors.IsForbidden(dev.Client.Delete(ctx, objects.BestEffortClass("guaranteed-2xlarge", 1, "1Gi")))).To(BeTrue())
	})

	It("gets the persona roles through the standard edit and view roles", func() {
		for role, label := range map[string]string{
			"vm-service-edit": "rbac.authorization.k8s.io/aggregate-to-edit",
			"vm-service-view": "rbac.authorization.k8s.io/aggregate-to-view",
		} {
			cr := &rbacv1.ClusterRole{}
			Expect(admin.Get(ctx, client.ObjectKey{Name: role}, cr)).To(Succeed())
			Expect(cr.Labels).To(HaveKeyWithValue(label, "true"))
		}
	})
})
