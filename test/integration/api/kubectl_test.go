package api_test

import (
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

// columns splits a kubectl table line into cells; cells are separated by two or more spaces.
func columns(line string) []string {
	return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
}

var _ = Describe("kubectl", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	// header runs kubectl get and returns the cells of its first line.
	header := func(args ...string) []string {
		out, _, err := env.Kubectl(ctx, append([]string{"get"}, args...)...)
		Expect(err).NotTo(HaveOccurred())
		return columns(strings.SplitN(out, "\n", 2)[0])
	}

	It("prints the walkthrough's columns for classes", func() {
		c := objects.GuaranteedClass("kubectl-guaranteed-large", 4, "16Gi")
		Expect(k8s.Create(ctx, c)).To(Succeed())
		DeferCleanup(k8s.Delete, ctx, c)
		Expect(header("virtualmachineclasses")).To(Equal([]string{"NAME", "CPU", "MEMORY", "AGE"}))

		out, _, err := env.Kubectl(ctx, "get", "vmclass", c.Name)
		Expect(err).NotTo(HaveOccurred())
		Expect(columns(strings.Split(out, "\n")[1])[:3]).To(Equal([]string{c.Name, "4", "16Gi"}))
	})

	It("prints the walkthrough's columns for bindings", func() {
		Expect(k8s.Create(ctx, objects.Binding(ns, "guaranteed-large", "guaranteed-large"))).To(Succeed())
		Expect(header("virtualmachineclassbindings", "-n", ns)).To(Equal([]string{"NAME", "VIRTUALMACHINECLASS", "AGE"}))
	})

	It("prints the walkthrough's columns for clusters", func() {
		Expect(k8s.Create(ctx, objects.Cluster(ns, "tkg-cluster-1-20-2", "guaranteed-medium", "best-effort-medium"))).To(Succeed())
		Expect(header("tanzukubernetescluster", "-n", ns)).To(Equal([]string{
			"NAME", "CONTROL PLANE", "WORKER", "DISTRIBUTION", "AGE", "PHASE", "TKR COMPATIBLE", "UPDATES AVAILABLE"}))
		By("adding, in -o wide, the Kubernetes version every machine runs")
		Expect(header("tanzukubernetescluster", "-n", ns, "-o", "wide")).To(Equal([]string{
			"NAME", "CONTROL PLANE", "WORKER", "DISTRIBUTION", "AGE", "PHASE", "TKR COMPATIBLE", "UPDATES AVAILABLE", "VERSION"}))
	})

	It("prints the design's columns for resource policies", func() {
		p := &vmopv1.VirtualMachineSetResourcePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "columns-policy"}}
		Expect(k8s.Create(ctx, p)).To(Succeed())
		Expect(header("virtualmachinesetresourcepolicies", "-n", ns)).To(Equal([]string{"NAME", "AGE"}))
		Expect(header("virtualmachinesetresourcepolicies", "-n", ns, "-o", "wide")).To(Equal([]string{"NAME", "AGE", "READY"}))
	})

	It("prints the design's columns for VMs, images and releases", func() {
		Expect(k8s.Create(ctx, objects.VM(ns, "columns-vm", "guaranteed-small", "ubuntu"))).To(Succeed())
		Expect(header("vm", "-n", ns)).To(Equal([]string{"NAME", "POWERSTATE", "AGE"}))
		Expect(header("vm", "-n", ns, "-o", "wide")).To(Equal([]string{"NAME", "POWERSTATE", "CLASS", "IMAGE", "PRIMARY-IP", "AGE"}))

		img := &vmopv1.VirtualMachineImage{ObjectMeta: metav1.ObjectMeta{Name: "columns-image"}, Spec: vmopv1.VirtualMachineImageSpec{Type: "ovf"}}
		Expect(k8s.Create(ctx, img)).To(Succeed())
		DeferCleanup(k8s.Delete, ctx, img)
		Expect(header("vmimage")).To(Equal([]string{"NAME", "VERSION", "OSTYPE", "FORMAT", "AGE"}))
		Expect(header("vmimage", "-o", "wide")).To(Equal([]string{"NAME", "VERSION", "OSTYPE", "FORMAT", "IMAGESUPPORTED", "AGE"}))
		wide := objects.GuaranteedClass("kubectl-wide", 2, "4Gi")
		Expect(k8s.Create(ctx, wide)).To(Succeed())
		DeferCleanup(k8s.Delete, ctx, wide)
		Expect(header("vmclass", "-o", "wide")).To(Equal([]string{"NAME", "CPU", "MEMORY", "AGE", "VGPUDEVICESPROFILENAMES",
			"PASSTHROUGHDEVICEIDS", "RESERVED-CPU", "RESERVED-MEMORY", "BOUND-IN"}))

		tkr := objects.Release("v1.21.6+vmware.1-tkg.1.b3d708a", "v1.21.6", "photon")
		Expect(k8s.Create(ctx, tkr)).To(Succeed())
		DeferCleanup(k8s.Delete, ctx, tkr)
		Expect(header("tkr")).To(Equal([]string{"NAME", "VERSION", "COMPATIBLE", "UPDATES AVAILABLE", "AGE"}))
	})

	DescribeTable("explains every documented field",
		func(field, want string) {
			// The apiserver publishes a new CRD's schema a moment after serving it.
			Eventually(func() (string, error) {
				out, _, err := env.Kubectl(ctx, "explain", field)
				// kubectl wraps descriptions, so compare with white space folded.
				return strings.Join(strings.Fields(out), " "), err
			}).Should(ContainSubstring(want))
		},
		Entry("binding classRef", "virtualmachineclassbinding.classRef.name", "not the binding's own name"),
		Entry("class cpus", "virtualmachineclass.spec.hardware.cpus", "number of virtual CPUs"),
		Entry("VM className", "virtualmachine.spec.className", "must be bound"),
		Entry("cluster topology class", "tanzukubernetescluster.spec.topology.controlPlane.class", "must be bound"),
		Entry("cluster version hint", "tanzukubernetescluster.spec.distribution.version", "newest matching"),
		Entry("release version", "tanzukubernetesrelease.spec.version", "full release version"),
		Entry("policy reservations", "virtualmachinesetresourcepolicy.spec.resourcepool.reservations", "slowest host"),
	)
})
