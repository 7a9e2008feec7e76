package vcentersync_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vapi/namespace"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/controllers/vcentersync"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
	"github.com/vm-service/vm-service/test/objects"
)

var stockNames = vcsim.StockClassNames()

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func without(names []string, drop ...string) []string {
	return sets.List(sets.New(names...).Delete(drop...))
}

func sorted(names ...string) []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	return out
}

// expectStockShape checks one mirrored class against the stock table: size, guaranteed or
// best-effort, and the sync's label.
func expectStockShape(c vmopv1.VirtualMachineClass, stock vcsim.StockClass) {
	GinkgoHelper()
	memory := resource.MustParse(fmt.Sprintf("%dMi", stock.MemoryMiB))
	Expect(c.Labels).To(HaveKeyWithValue(vmopv1.VCenterSyncLabel, vmopv1.VCenterSyncLabelValue))
	Expect(c.Spec.Hardware.Cpus).To(Equal(stock.CPUs), c.Name)
	Expect(c.Spec.Hardware.Memory.Cmp(memory)).To(Equal(0), c.Name)
	Expect(c.Spec.Hardware.Memory.String()).To(HaveSuffix("Gi"), c.Name)
	requests := c.Spec.Policies.Resources.Requests
	if stock.Guaranteed {
		Expect(requests.Cpu.Cmp(*resource.NewQuantity(stock.CPUs, resource.DecimalSI))).To(Equal(0), c.Name)
		Expect(requests.Memory.Cmp(memory)).To(Equal(0), c.Name)
	} else {
		Expect(requests.Cpu.IsZero()).To(BeTrue(), c.Name)
		Expect(requests.Memory.IsZero()).To(BeTrue(), c.Name)
	}
}

func expectMirroredBinding(b vmopv1.VirtualMachineClassBinding, class string) {
	GinkgoHelper()
	Expect(b.Name).To(Equal(class))
	Expect(b.Labels).To(HaveKeyWithValue(vmopv1.VCenterSyncLabel, vmopv1.VCenterSyncLabelValue))
	Expect(b.ClassRef).To(Equal(vmopv1.ClassReference{
		APIVersion: "vmoperator.vmware.com/v1alpha1", Kind: "VirtualMachineClass", Name: class,
	}))
}

var _ = Describe("The vCenter sync, replaying the walkthrough", Ordered, func() {
	var (
		vc               *vcenter
		syncer           *runningSyncer
		newNS, cormacNS  string
		largeBindingUID  types.UID
		stockClassByName = map[string]vcsim.StockClass{}
	)

	BeforeAll(func() {
		for _, c := range vcsim.StockClasses() {
			stockClassByName[c.Name] = c
		}
		vc = startVCenter()
		syncer = runSyncer(namespaces.StaticConnection(vc.connection()))
		newNS, cormacNS = uniqueName("new-namespace"), uniqueName("cormac-new-ns")
		waitForSyncs(syncer, 1)
	})

	It("step 1: lists no classes on a fresh supervisor although vCenter defines the 16 stock classes", func() {
		defined, err := vc.api.ListVmClasses(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(defined).To(HaveLen(16))
		Expect(classes()).To(BeEmpty())
		Expect(syncer.Status().LastError).NotTo(HaveOccurred())
		Expect(syncer.LastSync()).NotTo(BeZero())
	})

	It("step 2: mirrors a namespace created in vCenter, still with no classes or bindings", func() {
		vc.createNamespace(newNS)
		Eventually(getNamespace).WithArguments(newNS).WithTimeout(waitTimeout).
			Should(HaveField("Labels", HaveKeyWithValue(vmopv1.VCenterSyncLabel, vmopv1.VCenterSyncLabelValue)))
		waitForSyncs(syncer, 1)
		Expect(classes()).To(BeEmpty())
		Expect(bindings(newNS)).To(BeEmpty())
	})

	It("step 3: mirrors all 16 classes assigned to new-namespace, with their sizes and 16 bindings", func() {
		vc.assign(newNS, stockNames...)
		Eventually(func(g Gomega) {
			g.Expect(keys(classes())).To(Equal(sorted(stockNames...)))
			g.Expect(keys(bindings(newNS))).To(Equal(sorted(stockNames...)))
		}).WithTimeout(waitTimeout).Should(Succeed())

		for name, c := range classes() {
			expectStockShape(c, stockClassByName[name])
		}
		for name, b := range bindings(newNS) {
			expectMirroredBinding(b, name)
		}
		huge, large := classes()["guaranteed-8xlarge"], classes()["guaranteed-large"]
		Expect(huge.Spec.Hardware.Memory.String()).To(Equal("128Gi"))
		Expect(large.Spec.Policies.Resources.Requests.Cpu.String()).To(Equal("4"))

		out, _, err := env.Kubectl(ctx, "get", "virtualmachineclasses")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(MatchRegexp(`(?m)^NAME\s+CPU\s+MEMORY\s+AGE`))
		Expect(out).To(MatchRegexp(`(?m)^best-effort-2xlarge\s+8\s+64Gi\s`))
		Expect(out).To(MatchRegexp(`(?m)^guaranteed-xsmall\s+2\s+2Gi\s`))
	})

	It("step 4: shows all 16 classes in a second namespace but binds only what is assigned there", func() {
		vc.createNamespace(cormacNS)
		Eventually(getNamespace).WithArguments(cormacNS).WithTimeout(waitTimeout).Should(Not(BeNil()))
		waitForSyncs(syncer, 1)
		Expect(bindings(cormacNS)).To(BeEmpty())
		Expect(classes()).To(HaveLen(16))

		vc.assign(cormacNS, "guaranteed-large")
		Eventually(func() []string { return keys(bindings(cormacNS)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"guaranteed-large"}))
		b := bindings(cormacNS)["guaranteed-large"]
		expectMirroredBinding(b, "guaranteed-large")
		largeBindingUID = b.UID
		Expect(classes()).To(HaveLen(16))
	})

	It("step 6: adds exactly the two bindings the admin assigns next", func() {
		vc.assign(cormacNS, "guaranteed-large", "guaranteed-medium", "best-effort-medium")
		Eventually(func() []string { return keys(bindings(cormacNS)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"best-effort-medium", "guaranteed-large", "guaranteed-medium"}))
		Expect(bindings(cormacNS)["guaranteed-large"].UID).To(Equal(largeBindingUID))
	})

	It("removes exactly the dropped bindings on an assignment update, and the classes assigned nowhere", func() {
		before := bindings(newNS)
		keep := without(stockNames, "best-effort-xsmall", "guaranteed-large")
		vc.assign(newNS, keep...)
		Eventually(func() []string { return keys(bindings(newNS)) }).WithTimeout(waitTimeout).
			Should(Equal(sorted(keep...)))
		Eventually(func() []string { return keys(classes()) }).WithTimeout(waitTimeout).
			Should(Equal(sorted(without(stockNames, "best-effort-xsmall")...)),
				"guaranteed-large is still assigned to the second namespace; best-effort-xsmall is assigned nowhere")
		for name, b := range bindings(newNS) {
			Expect(b.ResourceVersion).To(Equal(before[name].ResourceVersion), "binding %s was rewritten", name)
		}
		Expect(keys(bindings(cormacNS))).To(HaveLen(3))
	})

	It("deletes the Namespace it mirrored when the namespace is removed in vCenter", func() {
		vc.deleteNamespace(cormacNS)
		// envtest runs no namespace controller, so a deleted Namespace stays Terminating.
		Eventually(func(g Gomega) {
			ns, err := getNamespace(cormacNS)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ns.DeletionTimestamp).NotTo(BeNil())
		}).WithTimeout(waitTimeout).Should(Succeed())
		Eventually(func() []string { return keys(bindings(cormacNS)) }).WithTimeout(waitTimeout).Should(BeEmpty())
		Eventually(func() []string { return keys(classes()) }).WithTimeout(waitTimeout).
			Should(Equal(sorted(without(stockNames, "best-effort-xsmall", "guaranteed-large")...)))
		ns, err := getNamespace(newNS)
		Expect(err).NotTo(HaveOccurred())
		Expect(ns.DeletionTimestamp).To(BeNil())
	})
})

var _ = Describe("The vCenter sync", func() {
	It("never modifies or deletes what an admin made, even when named like a vCenter class", func() {
		vc := startVCenter()
		nsName := uniqueName("admin-ns")
		adminNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName}}
		Expect(k8s.Create(ctx, adminNS)).To(Succeed())
		adminClass := objects.BestEffortClass("guaranteed-small", 3, "5Gi")
		Expect(k8s.Create(ctx, adminClass)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, adminClass))).To(Succeed()) })
		adminBinding := objects.Binding(nsName, "guaranteed-small", "guaranteed-xsmall")
		Expect(k8s.Create(ctx, adminBinding)).To(Succeed())
		admin := []client.Object{adminNS, adminClass, adminBinding}

		syncer := runSyncer(namespaces.StaticConnection(vc.connection()))
		vc.createNamespace(nsName, "guaranteed-small", "best-effort-small")
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"best-effort-small", "guaranteed-small"}))
		waitForSyncs(syncer, 2)
		expectUntouched(admin...)
		Expect(bindings(nsName)["guaranteed-small"].ClassRef.Name).To(Equal("guaranteed-xsmall"))
		Expect(classes()["guaranteed-small"].Spec.Hardware.Cpus).To(Equal(int64(3)))
		expectMirroredBinding(bindings(nsName)["best-effort-small"], "best-effort-small")

		vc.deleteNamespace(nsName)
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"guaranteed-small"}))
		Eventually(func() []string { return keys(classes()) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"guaranteed-small"}))
		waitForSyncs(syncer, 2)
		expectUntouched(admin...)
	})

	It("mirrors a class's devices, which the class schema accepts, and skips a class whose devices it would refuse", func() {
		vc := startVCenter()
		devices := namespace.VirtualDevices{
			VgpuDevices:         []namespace.VgpuDevice{{ProfileName: "grid_t4-4q"}},
			DirectPathIoDevices: []namespace.DirectPathIoDevice{{VendorId: 0x10de, DeviceId: 0x1eb8, CustomLabel: "t4"}},
		}
		Expect(vc.api.CreateVmClass(ctx, namespace.VirtualMachineClassCreateSpec{Id: "gpu-t4", CpuCount: 4, MemoryMb: 16384, Devices: devices})).To(Succeed())
		Expect(vc.api.CreateVmClass(ctx, namespace.VirtualMachineClassCreateSpec{Id: "gpu-broken", CpuCount: 4, MemoryMb: 16384,
			Devices: namespace.VirtualDevices{DirectPathIoDevices: []namespace.DirectPathIoDevice{{VendorId: 0x10de, DeviceId: 0x10000}}}})).To(Succeed())
		nsName := uniqueName("ml")
		vc.createNamespace(nsName, "gpu-t4", "gpu-broken", "best-effort-small")

		syncer := runSyncer(namespaces.StaticConnection(vc.connection()))
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"best-effort-small", "gpu-t4"}))
		waitForSyncs(syncer, 1)
		Expect(syncer.Status().LastError).NotTo(HaveOccurred(), "the class that cannot be mirrored does not fail the sync")
		Expect(classes()).NotTo(HaveKey("gpu-broken"))
		Expect(classes()["gpu-t4"].Spec.Hardware.Devices).To(Equal(vmopv1.VirtualDevices{
			VGPUDevices:                []vmopv1.VGPUDevice{{ProfileName: "grid_t4-4q"}},
			DynamicDirectPathIODevices: []vmopv1.DynamicDirectPathIODevice{{VendorID: 0x10de, DeviceID: 0x1eb8, CustomLabel: "t4"}},
		}))
		vc.deleteNamespace(nsName)
	})

	It("deletes nothing while vCenter is down and catches up when a vCenter answers again", func() {
		vc1 := startVCenter()
		nsName := uniqueName("outage")
		vc1.createNamespace(nsName, "guaranteed-small", "best-effort-small")
		conn := newSwitchable(vc1.connection())
		syncer := runSyncer(conn.get)
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"best-effort-small", "guaranteed-small"}))
		waitForSyncs(syncer, 1)
		before := resourceVersions(nsName)
		successes := syncer.Status().Successes

		vc1.stop()
		// While it is down, the admin drops an assignment (the simulator's namespace state
		// outlives the server, so the next simulator answers with it).
		vc2 := startSimulator()
		vc2.assign(nsName, "guaranteed-small")
		Eventually(func() error { return syncer.Status().LastError }).WithTimeout(waitTimeout).
			Should(MatchError(ContainSubstring("deleting nothing")))
		Consistently(func() map[string]string { return resourceVersions(nsName) }).
			WithTimeout(5 * syncInterval).WithPolling(syncInterval / 2).Should(Equal(before))
		Expect(syncer.Status().Successes).To(Equal(successes))
		Expect(syncer.Check(nil)).To(Succeed(), "one outage within the grace period keeps the sync ready")

		conn.set(vc2.connection())
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"guaranteed-small"}))
		Eventually(func() []string { return keys(classes()) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"guaranteed-small"}))
		Expect(syncer.Status().LastError).NotTo(HaveOccurred())
	})

	It("deletes nothing when one listing fails, even though the namespace list succeeded", func() {
		vc := startVCenter()
		p := newProxy(vc)
		nsName := uniqueName("partial")
		vc.createNamespace(nsName, "guaranteed-small", "best-effort-small")
		syncer := runSyncer(namespaces.StaticConnection(p.connection(vc)))
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(HaveLen(2))
		waitForSyncs(syncer, 1)
		before := resourceVersions(nsName)

		vc.assign(nsName) // every assignment removed in vCenter...
		for _, failing := range []struct {
			what  string
			match func(*http.Request) bool
		}{
			{"get vCenter namespace", func(r *http.Request) bool {
				return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/vcenter/namespaces/instances/")
			}},
			{"list vCenter VM classes", func(r *http.Request) bool {
				return r.Method == http.MethodGet && r.URL.Path == "/api/vcenter/namespace-management/virtual-machine-classes"
			}},
		} {
			p.fail(failing.match) // ...but one read fails
			Eventually(func() error { return syncer.Status().LastError }).WithTimeout(waitTimeout).
				Should(MatchError(ContainSubstring(failing.what)))
			Consistently(func() map[string]string { return resourceVersions(nsName) }).
				WithTimeout(5*syncInterval).WithPolling(syncInterval/2).Should(Equal(before), failing.what)
		}

		p.fail(nil)
		Eventually(func() map[string]vmopv1.VirtualMachineClassBinding { return bindings(nsName) }).
			WithTimeout(waitTimeout).Should(BeEmpty())
		Eventually(classes).WithTimeout(waitTimeout).Should(BeEmpty())
	})

	It("logs in again when vCenter drops its session", func() {
		vc := startVCenter()
		p := newProxy(vc)
		syncer := runSyncer(namespaces.StaticConnection(p.connection(vc)))
		waitForSyncs(syncer, 2)
		Expect(p.loginCount()).To(Equal(1), "one session serves every sync")

		failures := syncer.Status().Failures
		p.expireSessions()
		nsName := uniqueName("relogin")
		vc.createNamespace(nsName, "best-effort-small")
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"best-effort-small"}))
		Expect(p.loginCount()).To(Equal(2))
		Expect(syncer.Status().Failures).To(Equal(failures), "the sync that met the expired session logged in again and went on")
	})

	It("writes nothing when nothing changed, and puts back a mirrored class edited by hand", func() {
		vc := startVCenter()
		nsName := uniqueName("steady")
		vc.createNamespace(nsName, stockNames...)
		syncer := runSyncer(namespaces.StaticConnection(vc.connection()))
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).Should(HaveLen(16))
		Eventually(classes).WithTimeout(waitTimeout).Should(HaveLen(16))
		waitForSyncs(syncer, 1)
		before, writes := resourceVersions(nsName), syncer.writes.Load()
		waitForSyncs(syncer, 3)
		Expect(resourceVersions(nsName)).To(Equal(before))
		Expect(syncer.writes.Load()).To(Equal(writes), "no create, update or delete when nothing changed")

		edited := classes()["guaranteed-small"]
		edited.Spec.Hardware.Cpus = 7
		Expect(k8s.Update(ctx, &edited)).To(Succeed())
		Eventually(func() int64 { c := classes()["guaranteed-small"]; return c.Spec.Hardware.Cpus }).
			WithTimeout(waitTimeout).Should(Equal(int64(2)))
	})

	It("never logs credentials, whether vCenter answers or not", func() {
		vc := startVCenter()
		var logs lockedBuffer
		logger := funcr.New(func(prefix, args string) { logs.writeLine(prefix + " " + args) }, funcr.Options{Verbosity: 1})
		const secret = "Distinctive-S3cret-Pa55word"
		down := vc.connection()
		down.URL = &url.URL{Scheme: "https", Host: "127.0.0.1:1", Path: "/sdk"}
		down.Password = secret
		conn := newSwitchable(down)
		syncer := runSyncer(conn.get, logger)
		Eventually(func() error { return syncer.Status().LastError }).WithTimeout(waitTimeout).Should(HaveOccurred())

		up := vc.connection()
		up.Password = secret
		conn.set(up)
		vc.createNamespace(uniqueName("creds"), "best-effort-xsmall")
		Eventually(func() string { return logs.String() }).WithTimeout(waitTimeout).
			Should(ContainSubstring("vCenter sync recovered"))
		Expect(logs.String()).To(ContainSubstring(`"vcenter"="127.0.0.1:1"`))
		Expect(logs.String()).To(ContainSubstring("created from vCenter"))
		Expect(logs.String()).NotTo(ContainSubstring(secret))
	})

	It("refuses to start without a client or a connection", func() {
		_, err := vcentersync.New(nil, vcentersync.Options{Connection: namespaces.StaticConnection(namespaces.Connection{})})
		Expect(err).To(HaveOccurred())
		_, err = vcentersync.New(k8s, vcentersync.Options{})
		Expect(err).To(MatchError(ContainSubstring("Connection")))
	})
})

// expectUntouched checks that each object still exists exactly as the spec made it: same
// resourceVersion, no sync label, not being deleted.
func expectUntouched(objs ...client.Object) {
	GinkgoHelper()
	for _, want := range objs {
		got := want.DeepCopyObject().(client.Object)
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(want), got)).To(Succeed())
		Expect(got.GetResourceVersion()).To(Equal(want.GetResourceVersion()), "%T %s", want, want.GetName())
		Expect(got.GetLabels()).NotTo(HaveKey(vmopv1.VCenterSyncLabel))
		Expect(got.GetDeletionTimestamp()).To(BeNil())
	}
}

// lockedBuffer collects log lines from the Syncer's goroutine for the spec to read.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) writeLine(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s + "\n")
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
