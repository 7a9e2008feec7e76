package vcentersync_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	pbmsim "github.com/vmware/govmomi/pbm/simulator"
	"github.com/vmware/govmomi/vapi/namespace"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/storageaccess"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
)

// The PBM simulator's "VM Encryption Policy", a second policy to assign.
const encryptionPolicyID = pbmsim.DefaultEncryptionProfileID

var _ = Describe("The vCenter sync, mirroring storage policies", Ordered, func() {
	var (
		vc     *vcenter
		syncer *runningSyncer
		ns     string
	)
	BeforeAll(func() {
		vc = startVCenter()
		syncer = runSyncer(namespaces.StaticConnection(vc.connection()))
		ns = uniqueName("storage-ns")
	})

	quota := func() (corev1.ResourceList, error) {
		q := &corev1.ResourceQuota{}
		err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: storageaccess.QuotaName(ns)}, q)
		return q.Spec.Hard, err
	}
	storageClass := func(name string) (map[string]string, error) {
		sc := &storagev1.StorageClass{}
		err := k8s.Get(ctx, client.ObjectKey{Name: name}, sc)
		return sc.Parameters, err
	}

	It("makes a policy assigned in vCenter a StorageClass named after it and a quota entry of the namespace", func() {
		Expect(vc.api.CreateNamespace(ctx, namespace.NamespacesInstanceCreateSpec{
			Cluster: vcsim.ClusterName, Namespace: ns,
			StorageSpecs: []namespace.StorageSpec{{Policy: vcsim.VSANDefaultPolicyID, Limit: 10240}},
		})).To(Succeed())

		Eventually(storageClass).WithArguments("vsan-default-storage-policy").WithTimeout(waitTimeout).
			Should(HaveKeyWithValue(storageaccess.PolicyIDParameter, vcsim.VSANDefaultPolicyID))
		Eventually(quota).WithTimeout(waitTimeout).Should(HaveLen(1))
		hard, _ := quota()
		limit := hard[storageaccess.QuotaResource("vsan-default-storage-policy")]
		Expect(limit.Cmp(resource.MustParse("10Gi"))).To(Equal(0), "the 10240 MiB limit vCenter set, got %s", limit.String())
	})

	It("follows a change of the assigned policies, and drops the class nobody is assigned", func() {
		Expect(vc.api.UpdateNamespace(ctx, ns, namespace.NamespacesInstanceUpdateSpec{
			StorageSpecs: []namespace.StorageSpec{{Policy: encryptionPolicyID}},
		})).To(Succeed())

		Eventually(quota).WithTimeout(waitTimeout).Should(And(HaveLen(1), HaveKey(storageaccess.QuotaResource("vm-encryption-policy"))))
		hard, _ := quota()
		unlimited := hard[storageaccess.QuotaResource("vm-encryption-policy")]
		Expect(unlimited.Value()).To(BeNumerically(">", int64(1)<<60), "no limit in vCenter is no limit here")
		Eventually(func() bool { _, err := storageClass("vsan-default-storage-policy"); return apierrors.IsNotFound(err) }).
			WithTimeout(waitTimeout).Should(BeTrue())
		parameters, err := storageClass("vm-encryption-policy")
		Expect(err).NotTo(HaveOccurred())
		Expect(parameters).To(HaveKeyWithValue(storageaccess.PolicyIDParameter, encryptionPolicyID))
	})

	It("labels what it made, and leaves a StorageClass an admin made alone", func() {
		mine := &storagev1.StorageClass{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "vm-encryption-policy"}, mine)).To(Succeed())
		Expect(mine.Labels).To(HaveKeyWithValue(vmopv1.VCenterSyncLabel, vmopv1.VCenterSyncLabelValue))

		admins := &storagev1.StorageClass{Provisioner: "example.com/other"}
		admins.Name = "vsan-default-storage-policy"
		Expect(k8s.Create(ctx, admins)).To(Succeed())
		DeferCleanup(func() { Expect(k8s.Delete(ctx, admins)).To(Succeed()) })
		waitForSyncs(syncer, 2)
		Expect(k8s.Get(ctx, client.ObjectKey{Name: admins.Name}, admins)).To(Succeed())
		Expect(admins.Provisioner).To(Equal("example.com/other"))
	})

	It("assigns a namespace's storage no later than its classes, so a VM applied on seeing a binding finds both", func() {
		other := uniqueName("storage-and-classes")
		Expect(vc.api.CreateNamespace(ctx, namespace.NamespacesInstanceCreateSpec{
			Cluster: vcsim.ClusterName, Namespace: other,
			VmServiceSpec: namespace.VmServiceSpec{VmClasses: []string{"best-effort-small"}},
			StorageSpecs:  []namespace.StorageSpec{{Policy: vcsim.VSANDefaultPolicyID}},
		})).To(Succeed())
		DeferCleanup(func() { vc.deleteNamespace(other) })
		Eventually(func() int { return len(bindings(other)) }).WithTimeout(waitTimeout).Should(Equal(1))
		q := &corev1.ResourceQuota{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: other, Name: storageaccess.QuotaName(other)}, q)).To(Succeed(),
			"the binding is there, so the quota must be")
	})

	It("removes the quota when the namespace is removed in vCenter", func() {
		vc.deleteNamespace(ns)
		Eventually(func() bool { _, err := quota(); return apierrors.IsNotFound(err) }).WithTimeout(waitTimeout).Should(BeTrue())
	})
})
