package tkr_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/tkr"
)

var _ = Describe("Updates", func() {
	DescribeTable("are the newer builds of the same Kubernetes minor and the builds of the next, newest first",
		func(current string, want []string) {
			rel := releases(current)
			Expect(tkr.Updates(&rel[0], catalog)).To(Equal(want))
		},
		Entry("the next minor, newer patches and tkg builds", "v1.20.2+vmware.1-tkg.1.1d4f79a", []string{
			"v1.21.6+vmware.1-tkg.1.b3d708a",
			"v1.20.20+vmware.1-tkg.1.abcdef0",
			"v1.20.8+vmware.1-tkg.2",
			"v1.20.8+vmware.1-tkg.1.1234567",
			"v1.20.7+vmware.1-tkg.1.7fb9067",
			"v1.20.2+vmware.1-tkg.2.3e10706",
		}),
		Entry("a newer tkg build of the same patch", "v1.20.8+vmware.1-tkg.1.1234567", []string{
			"v1.21.6+vmware.1-tkg.1.b3d708a",
			"v1.20.20+vmware.1-tkg.1.abcdef0",
			"v1.20.8+vmware.1-tkg.2",
		}),
		Entry("the newest of its minor has the next minor", "v1.20.20+vmware.1-tkg.1.abcdef0", []string{"v1.21.6+vmware.1-tkg.1.b3d708a"}),
		Entry("only the next minor, never one after it", "v1.19.7+vmware.1-tkg.1.fc82c41", []string{
			"v1.20.20+vmware.1-tkg.1.abcdef0",
			"v1.20.8+vmware.1-tkg.2",
			"v1.20.8+vmware.1-tkg.1.1234567",
			"v1.20.7+vmware.1-tkg.1.7fb9067",
			"v1.20.2+vmware.1-tkg.2.3e10706",
			"v1.20.2+vmware.1-tkg.1.1d4f79a",
		}),
		Entry("an older minor is never an update", "v1.21.6+vmware.1-tkg.1.b3d708a", []string{}),
		Entry("a release not in the list still gets its updates", "v1.18.5+vmware.1-tkg.1.c40d30d", []string{
			"v1.19.7+vmware.1-tkg.1.fc82c41",
			"v1.18.15+vmware.1-tkg.2.ebf6117",
		}),
		Entry("a version that does not parse has none", "v1.20.2+custom", nil),
	)

	It("orders vmware.N before tkg.M and lists each version once", func() {
		list := releases("v1.20.2+vmware.1-tkg.9.a", "v1.20.2+vmware.2-tkg.1.b", "v1.20.2+vmware.1-tkg.1.c", "v1.20.2+vmware.2-tkg.1.b")
		list[3].Name = "copy"
		Expect(tkr.Updates(&list[2], list)).To(Equal([]string{"v1.20.2+vmware.2-tkg.1.b", "v1.20.2+vmware.1-tkg.9.a"}))
	})

	It("has none for no release", func() {
		Expect(tkr.Updates(nil, catalog)).To(BeEmpty())
	})
})

var _ = Describe("Conditions", func() {
	It("UpdatesAvailable is True with the updates in brackets, as the UPDATES AVAILABLE column shows", func() {
		Expect(tkr.UpdatesAvailable([]string{"v1.20.7+vmware.1-tkg.1.7fb9067"})).To(Equal(vmopv1.Condition{
			Type: "UpdatesAvailable", Status: corev1.ConditionTrue,
			Message: "[v1.20.7+vmware.1-tkg.1.7fb9067]",
		}))
		Expect(tkr.UpdatesAvailable([]string{"v1.20.8+vmware.1-tkg.2", "v1.20.7+vmware.1-tkg.1.7fb9067"}).Message).
			To(Equal("[v1.20.8+vmware.1-tkg.2 v1.20.7+vmware.1-tkg.1.7fb9067]"))
	})

	It("UpdatesAvailable is False with reason NoUpdates, no message and no severity, as the walkthrough shows", func() {
		Expect(tkr.UpdatesAvailable(nil)).To(Equal(vmopv1.Condition{
			Type: "UpdatesAvailable", Status: corev1.ConditionFalse, Reason: "NoUpdates",
		}))
	})

	It("a release reports its updates", func() {
		c := tkr.ReleaseUpdatesAvailable(&catalog[2], catalog) // v1.20.7
		Expect(c.Type).To(Equal(runv1.UpdatesAvailableCondition))
		Expect(c.Status).To(Equal(corev1.ConditionTrue))
		Expect(c.Message).To(Equal("[v1.21.6+vmware.1-tkg.1.b3d708a v1.20.20+vmware.1-tkg.1.abcdef0 v1.20.8+vmware.1-tkg.2 v1.20.8+vmware.1-tkg.1.1234567]"))
	})

	It("a release with a valid version is Compatible", func() {
		Expect(tkr.ReleaseCompatible(&catalog[0])).To(Equal(vmopv1.Condition{
			Type: "Compatible", Status: corev1.ConditionTrue,
		}))
	})

	It("a release whose version does not parse is not Compatible, and says why", func() {
		c := tkr.ReleaseCompatible(&releases("v1.20.2+custom.1")[0])
		Expect(c.Status).To(Equal(corev1.ConditionFalse))
		Expect(c.Severity).To(Equal(vmopv1.ConditionSeverityWarning))
		Expect(c.Reason).To(Equal(runv1.InvalidVersionReason))
		Expect(c.Message).To(ContainSubstring("vmware.N"))
	})

	It("a cluster on the newest release is TanzuKubernetesReleaseCompatible with no updates, as in the walkthrough", func() {
		only := releases("v1.20.2+vmware.1-tkg.2.3e10706", "v1.19.7+vmware.1-tkg.1.fc82c41")
		Expect(tkr.ClusterReleaseCompatible("v1.20.2+vmware.1-tkg.2.3e10706", only)).To(Equal(vmopv1.Condition{
			Type: "TanzuKubernetesReleaseCompatible", Status: corev1.ConditionTrue,
		}))
		Expect(tkr.ClusterUpdatesAvailable("v1.20.2+vmware.1-tkg.2.3e10706", only)).To(Equal(vmopv1.Condition{
			Type: "UpdatesAvailable", Status: corev1.ConditionFalse, Reason: "NoUpdates",
		}))
	})

	It("a cluster on an older build reports its updates", func() {
		c := tkr.ClusterUpdatesAvailable("v1.20.8+vmware.1-tkg.1.1234567", catalog)
		Expect(c.Type).To(Equal(runv1.UpdatesAvailableCondition))
		Expect(c.Status).To(Equal(corev1.ConditionTrue))
		Expect(c.Message).To(Equal("[v1.21.6+vmware.1-tkg.1.b3d708a v1.20.20+vmware.1-tkg.1.abcdef0 v1.20.8+vmware.1-tkg.2]"))
	})

	DescribeTable("a cluster whose release is gone is not TanzuKubernetesReleaseCompatible and has no updates",
		func(full, says string) {
			c := tkr.ClusterReleaseCompatible(full, catalog)
			Expect(c.Type).To(Equal(runv1.TanzuKubernetesReleaseCompatibleCondition))
			Expect(c.Status).To(Equal(corev1.ConditionFalse))
			Expect(c.Severity).To(Equal(vmopv1.ConditionSeverityWarning))
			Expect(c.Reason).To(Equal(runv1.TanzuKubernetesReleaseNotFoundReason))
			Expect(c.Message).To(ContainSubstring(says))
			Expect(tkr.ClusterUpdatesAvailable(full, catalog).Reason).To(Equal(runv1.NoUpdatesReason))
		},
		Entry("deleted release", "v1.17.8+vmware.1-tkg.1.5417466", `"v1.17.8+vmware.1-tkg.1.5417466" names no TanzuKubernetesRelease`),
		Entry("never resolved", "", "a version is required"),
	)
})

var _ = Describe("CheckUpgrade", func() {
	DescribeTable("allows a newer build of the minor or the next minor, and names the targets otherwise",
		func(from, to string, refused string) {
			err := tkr.CheckUpgrade(from, to, catalog)
			if refused == "" {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(err).To(MatchError(tkr.ErrNotAnUpgrade))
			Expect(err).To(MatchError(ContainSubstring(refused)))
		},
		Entry("the same build", "v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2+vmware.1-tkg.2.3e10706", ""),
		Entry("a newer patch", "v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.7+vmware.1-tkg.1.7fb9067", ""),
		Entry("the next minor", "v1.20.2+vmware.1-tkg.2.3e10706", "v1.21.6+vmware.1-tkg.1.b3d708a", ""),
		Entry("a downgrade", "v1.20.2+vmware.1-tkg.2.3e10706", "v1.19.7+vmware.1-tkg.1.fc82c41",
			"a downgrade is not supported; versions it may move to (newest first): v1.21.6+vmware.1-tkg.1.b3d708a, v1.20.20+vmware.1-tkg.1.abcdef0"),
		Entry("an older build of the same patch", "v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2+vmware.1-tkg.1.1d4f79a", "a downgrade is not supported"),
		Entry("a skipped minor", "v1.19.7+vmware.1-tkg.1.fc82c41", "v1.21.6+vmware.1-tkg.1.b3d708a",
			"one Kubernetes minor at a time, from v1.19 to a newer v1.19 build or to v1.20; versions it may move to (newest first): v1.20.20"),
		Entry("nothing to move to", "v1.21.6+vmware.1-tkg.1.b3d708a", "v1.20.2+vmware.1-tkg.2.3e10706", "no release it may move to is available, so keep v1.21.6"),
		Entry("a cluster never resolved may go anywhere", "", "v1.19.7+vmware.1-tkg.1.fc82c41", ""),
	)
})
