package tanzukubernetesrelease

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/test/objects"
)

// The release suite checks the status the controller writes; the envtest specs of the
// tanzukubernetescluster package check it through `kubectl get tkr`.
func TestTanzuKubernetesRelease(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "TanzuKubernetesRelease suite")
}

func catalog(versions ...string) []runv1.TanzuKubernetesRelease {
	out := make([]runv1.TanzuKubernetesRelease, len(versions))
	for i, v := range versions {
		out[i] = *objects.Release(v, "", "image")
	}
	return out
}

var _ = Describe("release status", func() {
	all := catalog("v1.19.7+vmware.1-tkg.1.fc82c41", "v1.20.2+vmware.1-tkg.2.3e10706",
		"v1.20.7+vmware.1-tkg.1.7fb9067", "v1.21.6+vmware.1-tkg.1.b3d708a", "not-a-version")

	DescribeTable("sets Compatible and UpdatesAvailable, in that order",
		func(i int, compatible corev1.ConditionStatus, updates corev1.ConditionStatus, message string) {
			rel := all[i].DeepCopy()
			setStatus(rel, all)
			Expect(rel.Status.Conditions).To(HaveLen(2))
			Expect(rel.Status.Conditions[0].Type).To(Equal(vmopv1.ConditionType("Compatible")))
			Expect(rel.Status.Conditions[0].Status).To(Equal(compatible))
			u := conditions.Get(rel.Status.Conditions, "UpdatesAvailable")
			Expect(u.Status).To(Equal(updates))
			Expect(u.Message).To(Equal(message))
		},
		Entry("an older patch lists the next minor and the newer patch", 1, corev1.ConditionTrue, corev1.ConditionTrue,
			"[v1.21.6+vmware.1-tkg.1.b3d708a v1.20.7+vmware.1-tkg.1.7fb9067]"),
		Entry("the newest of its minor lists the next minor", 2, corev1.ConditionTrue, corev1.ConditionTrue, "[v1.21.6+vmware.1-tkg.1.b3d708a]"),
		Entry("an older minor lists the next one only", 0, corev1.ConditionTrue, corev1.ConditionTrue,
			"[v1.20.7+vmware.1-tkg.1.7fb9067 v1.20.2+vmware.1-tkg.2.3e10706]"),
		Entry("the newest release has none", 3, corev1.ConditionTrue, corev1.ConditionFalse, ""),
		Entry("a version that does not parse is not compatible", 4, corev1.ConditionFalse, corev1.ConditionFalse, ""),
	)

	It("keeps transition times while nothing changes", func() {
		rel := all[1].DeepCopy()
		setStatus(rel, all)
		first := rel.Status.Conditions[1].LastTransitionTime
		setStatus(rel, all)
		Expect(rel.Status.Conditions[1].LastTransitionTime).To(Equal(first))
	})
})
