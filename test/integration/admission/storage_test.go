package admission_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

var _ = Describe("Storage class admission", func() {
	BeforeEach(func() { ensureClasses("best-effort-small") })

	It("refuses a VM whose storage class is not assigned to its namespace, naming what is assigned", func() {
		ns := newNamespace()
		bind(ns, "best-effort-small")
		vm := objects.VM(ns, "vm", "best-effort-small", "ubuntu")
		vm.Spec.StorageClass = "gold"

		err := admin.Create(ctx, vm)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("spec.storageClass"))
		Expect(err.Error()).To(ContainSubstring(`spec.storageClass: Invalid value: "gold": StorageClass "gold" is not assigned to namespace "%s" (assigned here: %s)`, ns, testenv.StorageClass))

		By("admitting it once the storage class is assigned and exists")
		testenv.AssignStorage(admin, ns, "gold")
		err = admin.Create(ctx, vm)
		Expect(err).To(MatchError(ContainSubstring(`StorageClass "gold" is assigned to namespace "%s" but does not exist`, ns)))
	})

	It("refuses a storage class in a namespace with none assigned, and admits a VM that names none", func() {
		ns := env.NewNamespaceWithoutStorage("admission")
		bind(ns, "best-effort-small")
		err := admin.Create(ctx, objects.VM(ns, "vm", "best-effort-small", "ubuntu"))
		Expect(err).To(MatchError(ContainSubstring(`StorageClass "%s" is not assigned to namespace "%s" (assigned here: none)`, testenv.StorageClass, ns)))

		vm := objects.VM(ns, "vm", "best-effort-small", "ubuntu")
		vm.Spec.StorageClass = ""
		created(admin, vm)
	})

	It("refuses a storage class once no quota assigns it, right after admitting a VM with it", func() {
		ns := env.NewNamespaceWithoutStorage("admission")
		bind(ns, "best-effort-small")
		quota := objects.StorageQuota(ns, testenv.StorageClass)
		Expect(admin.Create(ctx, quota)).To(Succeed())
		Eventually(func() error { return admin.Create(ctx, objects.VM(ns, "first", "best-effort-small", "ubuntu")) }).Should(Succeed())

		Expect(admin.Delete(ctx, quota)).To(Succeed())
		Eventually(func() error {
			return admin.Create(ctx, objects.VM(ns, "second", "best-effort-small", "ubuntu"))
		}).Should(MatchError(ContainSubstring(`StorageClass "%s" is not assigned to namespace "%s" (assigned here: none)`, testenv.StorageClass, ns)))
	})

	It("refuses a cluster whose pools name an unassigned storage class, with the class problems, all at once", func() {
		ns := newNamespace()
		bind(ns, "best-effort-small")
		tkc := objects.Cluster(ns, "tkc", "best-effort-small", "best-effort-small")
		tkc.Spec.Topology.Workers.StorageClass = "gold"

		err := admin.Create(ctx, tkc)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("spec.topology.workers.storageClass"))
		Expect(err.Error()).To(ContainSubstring(`StorageClass "gold" is not assigned to namespace "%s" (assigned here: %s)`, ns, testenv.StorageClass))
	})
})
