package tanzukubernetescluster

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/test/fakeclient"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("releaseToClusters", func() {
	pinned := func(name, fullVersion string) client.Object {
		tkc := objects.Cluster("ns", name, "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Distribution.FullVersion = fullVersion
		return tkc
	}

	It("re-queues the clusters of the release's minor, of the minor before and those without a release, through the index", func() {
		c := fakeclient.New(
			pinned("on-1-20", "v1.20.2+vmware.1-tkg.2.3e10706"),
			pinned("on-1-20-newer", "v1.20.7+vmware.1-tkg.1.7fb9067"),
			pinned("on-1-21", "v1.21.6+vmware.1-tkg.1.b3d708a"),
			pinned("on-1-2", "v1.2.0+vmware.1-tkg.1.aaaaaaa"),
			pinned("unpinned", ""),
			pinned("garbled", "not-a-version"),
		)
		var selectors []string
		// Listing every cluster is what the index is for; a list without a field selector fails.
		r := &Reconciler{Client: interceptor.NewClient(c, interceptor.Funcs{
			List: func(ctx context.Context, cl client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				lo := (&client.ListOptions{}).ApplyOptions(opts)
				if lo.FieldSelector == nil || lo.FieldSelector.Empty() {
					return errors.New("listed every cluster")
				}
				selectors = append(selectors, lo.FieldSelector.String())
				return cl.List(ctx, list, opts...)
			},
		})}

		release := objects.Release("v1.20.9+vmware.1-tkg.1.0000000", "v1.20.9", "photon")
		var names []string
		for _, req := range r.releaseToClusters(context.Background(), release) {
			names = append(names, req.Name)
		}
		Expect(names).To(ConsistOf("on-1-20", "on-1-20-newer", "unpinned", "garbled"))
		Expect(selectors).To(ConsistOf(index.ClusterReleaseMinor+"=v1.20", index.ClusterReleaseMinor+"="+index.UnresolvedRelease,
			index.ClusterReleaseMinor+"=v1.19"))

		By("a release of the next minor re-queues the clusters that may upgrade to it")
		names = nil
		for _, req := range r.releaseToClusters(context.Background(), objects.Release("v1.21.9+vmware.1-tkg.1.0000000", "v1.21.9", "photon")) {
			names = append(names, req.Name)
		}
		Expect(names).To(ConsistOf("on-1-20", "on-1-20-newer", "on-1-21", "unpinned", "garbled"))
	})

	It("re-queues nothing for a release whose version does not parse", func() {
		r := &Reconciler{Client: fakeclient.New(pinned("unpinned", ""))}
		Expect(r.releaseToClusters(context.Background(), objects.Release("garbage", "", "photon"))).To(BeEmpty())
	})
})

var _ = Describe("virtualMachineToClusters", func() {
	It("names the cluster whose machine name the VM has, in the VM's namespace", func() {
		r := &Reconciler{}
		for _, pool := range pools {
			for _, name := range MachineNames("tkg-cluster-1-20-2", "uid", pool, 2) {
				reqs := r.virtualMachineToClusters(context.Background(), objects.VM("ns", name, "c", "i"))
				Expect(reqs).To(HaveLen(1))
				Expect(reqs[0].Namespace).To(Equal("ns"))
				Expect(reqs[0].Name).To(Equal("tkg-cluster-1-20-2"))
			}
		}
		Expect(r.virtualMachineToClusters(context.Background(), objects.VM("ns", "my-vm", "c", "i"))).To(BeEmpty())
	})

	It("tells the VMs a cluster controls from the others", func() {
		owned := objects.VM("ns", "a", "c", "i")
		owned.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(
			objects.Cluster("ns", "x", "c", "c"), runv1.GroupVersion.WithKind("TanzuKubernetesCluster"))}
		Expect(controlledByCluster(owned)).To(BeTrue())
		Expect(controlledByCluster(objects.VM("ns", "b", "c", "i"))).To(BeFalse())
	})
})

var _ = Describe("observe", func() {
	DescribeTable("blocks a machine whose VM the VM controller holds back, by the API's reasons",
		func(reason string, blocked bool) {
			vm := objects.VM("ns", "m", "c", "i")
			conditions.Set(&vm.Status.Conditions, conditions.False(vmopv1.VirtualMachinePrereqReadyCondition, reason,
				vmopv1.ConditionSeverityError, "held back"))
			m := observe("m", WorkersPool, vm)
			if blocked {
				Expect(m.Blocked).To(Equal(&Blocker{Reason: reason, Message: "held back"}))
			} else {
				Expect(m.Blocked).To(BeNil())
			}
		},
		Entry("class missing", vmopv1.VirtualMachineClassNotFoundReason, true),
		Entry("class not bound", vmopv1.VirtualMachineClassBindingNotFoundReason, true),
		Entry("image missing", vmopv1.VirtualMachineImageNotFoundReason, true),
		Entry("anything else", "SomethingTransient", false),
	)

	It("does not block a healthy VM, whatever its prerequisites say now, but warns", func() {
		vm := objects.VM("ns", "m", "c", "i")
		vm.Status.PowerState, vm.Status.VmIp = vmopv1.VirtualMachinePoweredOn, "192.168.128.1"
		conditions.Set(&vm.Status.Conditions, conditions.False(vmopv1.VirtualMachinePrereqReadyCondition,
			vmopv1.VirtualMachineClassBindingNotFoundReason, vmopv1.ConditionSeverityWarning, "revoked"))
		m := observe("m", WorkersPool, vm)
		Expect(m.Blocked).To(BeNil())
		Expect(m.Warning).To(Equal(&Blocker{Reason: vmopv1.VirtualMachineClassBindingNotFoundReason, Message: "revoked"}))
	})

	It("spells no VM condition or reason itself: they come from the API package", func() {
		apiNames := map[string]bool{
			string(vmopv1.VirtualMachinePrereqReadyCondition): true,
			vmopv1.VirtualMachineClassNotFoundReason:          true,
			vmopv1.VirtualMachineClassBindingNotFoundReason:   true,
			vmopv1.VirtualMachineImageNotFoundReason:          true,
		}
		files, err := filepath.Glob("*.go")
		Expect(err).NotTo(HaveOccurred())
		var respelled []string
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			src, err := os.ReadFile(file)
			Expect(err).NotTo(HaveOccurred())
			f, err := parser.ParseFile(token.NewFileSet(), file, src, 0)
			Expect(err).NotTo(HaveOccurred())
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && apiNames[s] {
						respelled = append(respelled, file+": "+lit.Value)
					}
				}
				return true
			})
		}
		Expect(respelled).To(BeEmpty())
	})
})

// The release a cluster's machines boot from and the release its status reports must be the
// same one, however it was found: these reconciles run on a fake client, since envtest's
// webhook always fills fullVersion and so cannot show a cluster whose webhook was bypassed.
var _ = Describe("Reconcile's release", func() {
	const image = "ob-17805141-photon-3-k8s-v1.20.2---vmware.1-tkg.2.3e10706"

	DescribeTable("makes machines only from a release it reports as compatible",
		func(fullVersion string, release bool, vms int, compatible corev1.ConditionStatus) {
			tkc := objects.Cluster("ns", "c", "guaranteed-medium", "best-effort-medium")
			tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 1
			tkc.Spec.Distribution.FullVersion = fullVersion
			tkc.Finalizers = []string{runv1.TanzuKubernetesClusterFinalizer}
			objs := []client.Object{tkc,
				objects.GuaranteedClass("guaranteed-medium", 2, "8Gi"), objects.BestEffortClass("best-effort-medium", 2, "8Gi"),
				objects.Binding("ns", "gm", "guaranteed-medium"), objects.Binding("ns", "be", "best-effort-medium")}
			if release {
				objs = append(objs, objects.Release("v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2", image))
			}
			c := fakeclient.New(objs...)
			r := &Reconciler{Client: c, Recorder: record.NewFakeRecorder(10)}
			_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(tkc)})
			Expect(err).NotTo(HaveOccurred())

			list := &vmopv1.VirtualMachineList{}
			Expect(c.List(context.Background(), list, client.InNamespace("ns"))).To(Succeed())
			Expect(list.Items).To(HaveLen(vms))
			for _, vm := range list.Items {
				Expect(vm.Spec.ImageName).To(Equal(image))
			}
			Expect(c.Get(context.Background(), client.ObjectKeyFromObject(tkc), tkc)).To(Succeed())
			Expect(conditions.Get(tkc.Status.Conditions, "TanzuKubernetesReleaseCompatible")).
				To(HaveField("Status", compatible))
		},
		Entry("fullVersion names the release", "v1.20.2+vmware.1-tkg.2.3e10706", true, 2, corev1.ConditionTrue),
		Entry("empty fullVersion, hint resolves (webhook bypassed)", "", true, 2, corev1.ConditionTrue),
		Entry("release gone", "v1.20.2+vmware.1-tkg.2.3e10706", false, 0, corev1.ConditionFalse),
	)
})

var _ = Describe("Reconcile with a cache a moment behind the apiserver", func() {
	It("confirms a release, class and binding its cache lacks before blocking machines", func() {
		tkc := objects.Cluster("ns", "c", "guaranteed-medium", "guaranteed-medium")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 1
		tkc.Spec.Distribution.FullVersion = "v1.20.2+vmware.1-tkg.2.3e10706"
		tkc.Finalizers = []string{runv1.TanzuKubernetesClusterFinalizer}
		cache := fakeclient.New(tkc) // has seen the cluster, nothing it depends on
		live := fakeclient.New(objects.GuaranteedClass("guaranteed-medium", 2, "8Gi"), objects.Binding("ns", "gm", "guaranteed-medium"),
			objects.Release("v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2", "photon"))
		r := &Reconciler{Client: cache, Live: live, Recorder: record.NewFakeRecorder(10)}
		_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(tkc)})
		Expect(err).NotTo(HaveOccurred())

		vms := &vmopv1.VirtualMachineList{}
		Expect(cache.List(context.Background(), vms, client.InNamespace("ns"))).To(Succeed())
		Expect(vms.Items).To(HaveLen(2), "both machines are made")
		Expect(cache.Get(context.Background(), client.ObjectKeyFromObject(tkc), tkc)).To(Succeed())
		Expect(tkc.Status.Phase).NotTo(Equal(runv1.PhaseFailed))
		for _, c := range tkc.Status.Conditions {
			Expect(c.Reason).NotTo(ContainSubstring("NotFound"), "condition %s: %s", c.Type, c.Message)
		}
	})
})
