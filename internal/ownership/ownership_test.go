package ownership

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/vm-service/vm-service/test/objects"
)

func TestOwnership(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Ownership suite")
}

// as is a request context from user in groups.
func as(user string, groups ...string) context.Context {
	return admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UserInfo: authenticationv1.UserInfo{Username: user, Groups: groups}}})
}

var _ = Describe("Guard", func() {
	fin := Finalizer{Name: "virtualmachine.vmoperator.vmware.com", Instead: "delete it instead"}
	guard := Guard{Manager: "manager"}

	It("reads no request when nothing of the product's changes", func() {
		old := objects.VM("ns", "vm", "c", "i")
		old.Labels = map[string]string{"run.tanzu.vmware.com/pool": "workers", "mine": "a"}
		vm := old.DeepCopy()
		vm.Labels["mine"] = "b"
		Expect(guard.Check(context.Background(), old, vm, fin)).To(BeEmpty())
	})

	DescribeTable("trusts the manager and system:masters only",
		func(ctx context.Context, refused bool) {
			old := objects.VM("ns", "vm", "c", "i")
			old.Finalizers = []string{fin.Name}
			errs, err := guard.Check(ctx, old, objects.VM("ns", "vm", "c", "i"), fin)
			Expect(err).NotTo(HaveOccurred())
			Expect(len(errs) > 0).To(Equal(refused))
		},
		Entry("the manager", as("manager"), false),
		Entry("system:masters", as("admin", "system:masters"), false),
		Entry("a developer", as("devops", "system:authenticated"), true),
	)

	It("lets the garbage collector remove, and only remove, owner references to a cluster", func() {
		gc := as("system:serviceaccount:kube-system:generic-garbage-collector", "system:serviceaccounts")
		ref := metav1.OwnerReference{APIVersion: "run.tanzu.vmware.com/v1alpha1", Kind: "TanzuKubernetesCluster", Name: "c", UID: "u"}
		owned := objects.VM("ns", "vm", "c", "i")
		owned.OwnerReferences = []metav1.OwnerReference{ref}
		orphaned := objects.VM("ns", "vm", "c", "i")

		Expect(guard.Check(gc, owned, orphaned, fin)).To(BeEmpty(), "orphaning on --cascade=orphan")
		Expect(guard.Check(gc, orphaned, owned, fin)).NotTo(BeEmpty(), "adding a reference")
		Expect(guard.Check(as("devops", "system:authenticated"), owned, orphaned, fin)).NotTo(BeEmpty(), "a developer orphaning")
		withFinalizer := owned.DeepCopy()
		withFinalizer.Finalizers = []string{fin.Name}
		Expect(guard.Check(gc, withFinalizer, orphaned, fin)).NotTo(BeEmpty(), "removing the product's finalizer too")
	})

	It("tells owner references to a cluster by group and kind, whatever the version", func() {
		refs := []metav1.OwnerReference{
			{APIVersion: "run.tanzu.vmware.com/v1alpha2", Kind: "TanzuKubernetesCluster", Name: "a"},
			{APIVersion: "example.com/v1", Kind: "TanzuKubernetesCluster", Name: "b"},
			{APIVersion: "run.tanzu.vmware.com/v1alpha1", Kind: "TanzuKubernetesRelease", Name: "c"},
		}
		Expect(clusterRefs(refs)).To(ConsistOf(HaveField("Name", "a")))
	})

	It("owns keys of the product's groups only, not their subdomains", func() {
		Expect(owned("vmoperator.vmware.com/x")).To(BeTrue())
		Expect(owned("run.tanzu.vmware.com/cluster-name")).To(BeTrue())
		Expect(owned("test.vmoperator.vmware.com/x")).To(BeFalse())
		Expect(owned("vmoperator.vmware.com")).To(BeFalse())
	})
})
