package vcsim_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/pbm"
	"github.com/vmware/govmomi/vapi/namespace"

	"github.com/vm-service/vm-service/internal/vcsim"
)

var _ = Describe("The simulator's storage policies", func() {
	ctx := context.Background()
	start := func(o vcsim.Options) *namespace.Manager {
		sim, err := vcsim.StartWith(o)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
		rc, err := sim.RestClient(ctx)
		Expect(err).NotTo(HaveOccurred())
		return namespace.NewManager(rc)
	}
	storageOf := func(m *namespace.Manager, ns string) []namespace.StorageSpec {
		info, err := m.GetNamespace(ctx, ns)
		Expect(err).NotTo(HaveOccurred())
		return info.StorageSpecs
	}

	It("keeps a namespace's storage specs from create and update; an update without them leaves them, one of them alone leaves the classes", func() {
		m := start(vcsim.Options{})
		DeferCleanup(func() { _ = m.DeleteNamespace(ctx, "storage-a") })
		Expect(m.CreateNamespace(ctx, namespace.NamespacesInstanceCreateSpec{
			Cluster: vcsim.ClusterName, Namespace: "storage-a",
			StorageSpecs: []namespace.StorageSpec{{Policy: vcsim.VSANDefaultPolicyID, Limit: 100}},
		})).To(Succeed())
		Expect(storageOf(m, "storage-a")).To(Equal([]namespace.StorageSpec{{Policy: vcsim.VSANDefaultPolicyID, Limit: 100}}))

		Expect(m.UpdateNamespace(ctx, "storage-a", namespace.NamespacesInstanceUpdateSpec{
			VmServiceSpec: namespace.VmServiceSpec{VmClasses: []string{"best-effort-small"}},
		})).To(Succeed())
		Expect(storageOf(m, "storage-a")).To(HaveLen(1))

		Expect(m.UpdateNamespace(ctx, "storage-a", namespace.NamespacesInstanceUpdateSpec{
			StorageSpecs: []namespace.StorageSpec{{Policy: "other"}},
		})).To(Succeed())
		Expect(storageOf(m, "storage-a")).To(Equal([]namespace.StorageSpec{{Policy: "other"}}))
		info, err := m.GetNamespace(ctx, "storage-a")
		Expect(err).NotTo(HaveOccurred())
		Expect(info.VmServiceSpec.VmClasses).To(Equal([]string{"best-effort-small"}), "an update of storage alone keeps the classes")
	})

	It("gives a namespace created without storage the default policy, when it has one", func() {
		m := start(vcsim.Options{DefaultStoragePolicy: vcsim.VSANDefaultPolicyID})
		DeferCleanup(func() { _ = m.DeleteNamespace(ctx, "storage-b") })
		Expect(m.CreateNamespace(ctx, namespace.NamespacesInstanceCreateSpec{Cluster: vcsim.ClusterName, Namespace: "storage-b"})).To(Succeed())
		Expect(storageOf(m, "storage-b")).To(Equal([]namespace.StorageSpec{{Policy: vcsim.VSANDefaultPolicyID}}))
	})

	It("serves vCenter's storage policy service with vSAN's default policy", func() {
		sim, err := vcsim.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
		c, err := sim.Client(ctx)
		Expect(err).NotTo(HaveOccurred())
		pc, err := pbm.NewClient(ctx, c.Client)
		Expect(err).NotTo(HaveOccurred())
		id, err := pc.ProfileIDByName(ctx, "vSAN Default Storage Policy")
		Expect(err).NotTo(HaveOccurred())
		Expect(id).To(Equal(vcsim.VSANDefaultPolicyID))
	})
})
