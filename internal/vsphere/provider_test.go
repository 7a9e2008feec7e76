package vsphere_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	govsession "github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/vcenter"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
)

const namespace = "dev-team"

func vmSpec(name, uuid string, class *vmopv1.VirtualMachineClass, power vmopv1.VirtualMachinePowerState) vsphere.VMSpec {
	return vsphere.VMSpec{
		VMRef:      vsphere.VMRef{Namespace: namespace, Name: name, InstanceUUID: uuid},
		Image:      photon.Name,
		Sizing:     vsphere.SizingFromClass(class.Spec),
		PowerState: power,
	}
}

var _ = Describe("The govmomi provider", func() {
	var (
		e *env
		p *vsphere.GovmomiProvider
	)
	BeforeEach(func(ctx SpecContext) {
		e = newEnv(ctx)
		p = e.provider()
	})

	hostMHz := func(ctx context.Context) int64 { return e.slowestHostMHz(ctx) }

	It("deploys a guaranteed VM sized and reserved by its class, in the namespace's pool and folder", func(ctx SpecContext) {
		class := objects.GuaranteedClass("guaranteed-small", 2, "4Gi")
		state, err := p.EnsureVM(logged(ctx), vmSpec("web-0", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae001", class, vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())

		vm := e.vmByInstanceUUID(ctx, "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae001")
		Expect(vm).NotTo(BeNil())
		Expect(vm.Name).To(Equal("web-0"))
		Expect(vm.Config.Hardware.NumCPU).To(BeEquivalentTo(2))
		Expect(vm.Config.Hardware.MemoryMB).To(BeEquivalentTo(4096))
		Expect(vm.Config.CpuAllocation.Reservation).To(HaveValue(Equal(2 * hostMHz(ctx))))
		Expect(vm.Config.MemoryAllocation.Reservation).To(HaveValue(BeEquivalentTo(4096)))
		Expect(vm.Config.GuestId).To(Equal("vmwarePhoton64Guest"))
		Expect(vm.Runtime.PowerState).To(Equal(types.VirtualMachinePowerStatePoweredOn))

		By("placing it in the namespace's resource pool under the supervisor cluster")
		Expect(e.name(ctx, *vm.ResourcePool)).To(Equal(namespace))
		var pool mo.ResourcePool
		Expect(object.NewResourcePool(e.admin.Client, *vm.ResourcePool).Properties(ctx, *vm.ResourcePool, []string{"parent", "owner"}, &pool)).To(Succeed())
		Expect(e.name(ctx, pool.Owner)).To(Equal(e.cfg.Cluster))
		Expect(e.name(ctx, *pool.Parent)).To(Equal("Resources"))

		By("and in the namespace's folder under the datacenter's VM folder")
		Expect(e.name(ctx, *vm.Parent)).To(Equal(namespace))
		var folder mo.Folder
		Expect(object.NewFolder(e.admin.Client, *vm.Parent).Properties(ctx, *vm.Parent, []string{"parent"}, &folder)).To(Succeed())
		Expect(e.name(ctx, *folder.Parent)).To(Equal("vm"))

		By("reporting what vSphere says")
		Expect(state.MoID).To(Equal(vm.Self.Value))
		Expect(state.InstanceUUID).To(Equal("6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae001"))
		Expect(state.BiosUUID).To(Equal(vm.Config.Uuid))
		Expect(state.Host).To(Equal(e.name(ctx, *vm.Runtime.Host)))
		Expect(state.PowerState).To(Equal(vmopv1.VirtualMachinePoweredOn))
	})

	It("deploys a best-effort VM with no reservations, and follows the power state", func(ctx SpecContext) {
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae002"
		class := objects.BestEffortClass("best-effort-medium", 2, "8Gi")
		state, err := p.EnsureVM(logged(ctx), vmSpec("batch-0", uuid, class, vmopv1.VirtualMachinePoweredOff))
		Expect(err).NotTo(HaveOccurred())
		Expect(state.PowerState).To(Equal(vmopv1.VirtualMachinePoweredOff))

		vm := e.vmByInstanceUUID(ctx, uuid)
		Expect(vm.Config.Hardware.NumCPU).To(BeEquivalentTo(2))
		Expect(vm.Config.Hardware.MemoryMB).To(BeEquivalentTo(8192))
		Expect(vm.Config.CpuAllocation.Reservation).To(HaveValue(BeZero()))
		Expect(vm.Config.MemoryAllocation.Reservation).To(HaveValue(BeZero()))
		Expect(vm.Runtime.PowerState).To(Equal(types.VirtualMachinePowerStatePoweredOff))

		By("powering it on")
		state, err = p.EnsureVM(logged(ctx), vmSpec("batch-0", uuid, class, vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())
		Expect(state.PowerState).To(Equal(vmopv1.VirtualMachinePoweredOn))
		Expect(e.vmByInstanceUUID(ctx, uuid).Runtime.PowerState).To(Equal(types.VirtualMachinePowerStatePoweredOn))

		By("powering it off again")
		_, err = p.EnsureVM(logged(ctx), vmSpec("batch-0", uuid, class, vmopv1.VirtualMachinePoweredOff))
		Expect(err).NotTo(HaveOccurred())
		Expect(e.vmByInstanceUUID(ctx, uuid).Runtime.PowerState).To(Equal(types.VirtualMachinePowerStatePoweredOff))
	})

	It("creates VMs of one new namespace concurrently, with one pool and one folder", func(ctx SpecContext) {
		names := []string{"par-0", "par-1", "par-2", "par-3"}
		errs := make(chan error, len(names))
		for i, name := range names {
			go func() {
				defer GinkgoRecover()
				uuid := fmt.Sprintf("6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae1%02d", i)
				_, err := p.EnsureVM(logged(ctx), vmSpec(name, uuid, objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn))
				errs <- err
			}()
		}
		for range names {
			Expect(<-errs).NotTo(HaveOccurred())
		}
		pools, err := e.finder.ResourcePoolList(ctx, e.cfg.Cluster+"/Resources/"+namespace)
		Expect(err).NotTo(HaveOccurred())
		Expect(pools).To(HaveLen(1))
		folders, err := e.finder.FolderList(ctx, "vm/"+namespace)
		Expect(err).NotTo(HaveOccurred())
		Expect(folders).To(HaveLen(1))
		for _, name := range names {
			Expect(e.vmsNamed(ctx, name)).To(HaveLen(1))
		}
	})

	It("never resizes an existing VM when its class changes", func(ctx SpecContext) {
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae003"
		_, err := p.EnsureVM(logged(ctx), vmSpec("db-0", uuid, objects.GuaranteedClass("c", 2, "4Gi"), vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())

		_, err = p.EnsureVM(logged(ctx), vmSpec("db-0", uuid, objects.GuaranteedClass("c", 8, "64Gi"), vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())
		vm := e.vmByInstanceUUID(ctx, uuid)
		Expect(vm.Config.Hardware.NumCPU).To(BeEquivalentTo(2))
		Expect(vm.Config.Hardware.MemoryMB).To(BeEquivalentTo(4096))
		Expect(vm.Config.MemoryAllocation.Reservation).To(HaveValue(BeEquivalentTo(4096)))
	})

	It("gives the VM a static IP through guest customization", func(ctx SpecContext) {
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae004"
		spec := vmSpec("web-1", uuid, objects.BestEffortClass("c", 2, "2Gi"), vmopv1.VirtualMachinePoweredOn)
		spec.Network = &vsphere.StaticIP{Address: "192.168.100.21", Netmask: "255.255.255.0", Gateway: "192.168.100.1"}
		state, err := p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())

		vm := e.vmByInstanceUUID(ctx, uuid)
		Expect(vm.Guest.IpAddress).To(Equal("192.168.100.21"))
		Expect(state.IP).To(Equal("192.168.100.21"))
	})

	It("makes exactly one VM when called again, and after a restart", func(ctx SpecContext) {
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae005"
		spec := vmSpec("app-0", uuid, objects.GuaranteedClass("c", 2, "2Gi"), vmopv1.VirtualMachinePoweredOn)
		first, err := p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())
		second, err := p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())
		restarted, err := e.provider().EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())
		Expect(second.MoID).To(Equal(first.MoID))
		Expect(restarted.MoID).To(Equal(first.MoID))
		Expect(e.vmsNamed(ctx, "app-0")).To(HaveLen(1))
	})

	It("finishes a creation interrupted after the deploy, without a second VM", func(ctx SpecContext) {
		// A previous manager deployed app-1 into the namespace and died before sizing it.
		_, err := p.EnsureVM(logged(ctx), vmSpec("other", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae0ff", objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOff))
		Expect(err).NotTo(HaveOccurred())
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae006"
		deployRaw(ctx, e, vsphere.DeployName(uuid))

		state, err := e.provider().EnsureVM(logged(ctx), vmSpec("app-1", uuid, objects.GuaranteedClass("c", 4, "8Gi"), vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())
		Expect(e.vmsNamed(ctx, "app-1")).To(HaveLen(1))
		Expect(e.vmsNamed(ctx, vsphere.DeployName(uuid))).To(BeEmpty(), "it was renamed as it got its instance UUID")
		vm := e.vmByInstanceUUID(ctx, uuid)
		Expect(vm).NotTo(BeNil())
		Expect(vm.Self.Value).To(Equal(state.MoID))
		Expect(vm.Config.Hardware.NumCPU).To(BeEquivalentTo(4))
		Expect(vm.Config.MemoryAllocation.Reservation).To(HaveValue(BeEquivalentTo(8192)))
	})

	It("deletes the VM, and deleting again is fine", func(ctx SpecContext) {
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae007"
		spec := vmSpec("gone-0", uuid, objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn)
		_, err := p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())

		Expect(p.DeleteVM(logged(ctx), spec.VMRef)).To(Succeed())
		Expect(e.vmByInstanceUUID(ctx, uuid)).To(BeNil())
		Expect(e.vmsNamed(ctx, "gone-0")).To(BeEmpty())
		Expect(p.DeleteVM(logged(ctx), spec.VMRef)).To(Succeed())
		Expect(e.provider().DeleteVM(logged(ctx), vsphere.VMRef{Namespace: "never-used", Name: "x", InstanceUUID: "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae0aa"})).To(Succeed())
	})

	It("deletes a VM whose creation was interrupted before it got its instance UUID", func(ctx SpecContext) {
		_, err := p.EnsureVM(logged(ctx), vmSpec("other", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae0fe", objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOff))
		Expect(err).NotTo(HaveOccurred())
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae008"
		deployRaw(ctx, e, vsphere.DeployName(uuid))
		Expect(p.DeleteVM(logged(ctx), vsphere.VMRef{Namespace: namespace, Name: "half-0", InstanceUUID: uuid})).To(Succeed())
		Expect(e.vmsNamed(ctx, vsphere.DeployName(uuid))).To(BeEmpty())
	})

	It("never adopts, changes or destroys a VM it did not make that has the VirtualMachine's name", func(ctx SpecContext) {
		// A VM left in the namespace's folder, by an administrator or a VirtualMachine deleted
		// without its finalizer, has the name a new VirtualMachine takes.
		_, err := p.EnsureVM(logged(ctx), vmSpec("other", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae0fd", objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOff))
		Expect(err).NotTo(HaveOccurred())
		deployRaw(ctx, e, "left-0")
		foreign := e.vmsNamed(ctx, "left-0")
		Expect(foreign).To(HaveLen(1))
		before := e.vmByMoID(ctx, foreign[0].Reference())

		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae013"
		spec := vmSpec("left-0", uuid, objects.GuaranteedClass("c", 4, "8Gi"), vmopv1.VirtualMachinePoweredOn)
		_, err = e.provider().EnsureVM(logged(ctx), spec)
		Expect(err).To(MatchError(vsphere.ErrNameTaken))
		Expect(err.Error()).To(And(ContainSubstring(foreign[0].Reference().Value), ContainSubstring(`"left-0"`)))
		Expect(vsphere.IsUnreachable(err)).To(BeFalse())

		By("leaving it as it was, and making nothing")
		after := e.vmByMoID(ctx, foreign[0].Reference())
		Expect(after.Config.InstanceUuid).To(Equal(before.Config.InstanceUuid))
		Expect(after.Config.Hardware.NumCPU).To(Equal(before.Config.Hardware.NumCPU))
		Expect(after.Runtime.PowerState).To(Equal(before.Runtime.PowerState))
		Expect(e.vmByInstanceUUID(ctx, uuid)).To(BeNil())
		Expect(e.vmsNamed(ctx, vsphere.DeployName(uuid))).To(BeEmpty())

		By("and deleting the VirtualMachine's VM never destroys it")
		Expect(p.DeleteVM(logged(ctx), spec.VMRef)).To(Succeed())
		Expect(e.vmsNamed(ctx, "left-0")).To(HaveLen(1))
	})

	It("makes nothing for a spec that must exist, and says the VM is not there", func(ctx SpecContext) {
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae014"
		spec := vmSpec("kept-0", uuid, objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn)
		spec.MustExist = true
		_, err := p.EnsureVM(logged(ctx), spec)
		Expect(err).To(MatchError(vsphere.ErrVMNotFound))
		Expect(e.vmsNamed(ctx, "kept-0")).To(BeEmpty())
		Expect(e.vmsNamed(ctx, vsphere.DeployName(uuid))).To(BeEmpty())

		By("while one that exists is managed as ever")
		spec.MustExist = false
		_, err = p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())
		spec.MustExist, spec.PowerState = true, vmopv1.VirtualMachinePoweredOff
		state, err := p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())
		Expect(state.PowerState).To(Equal(vmopv1.VirtualMachinePoweredOff))
	})

	It("says clearly when the image is not in the library, and makes no VM", func(ctx SpecContext) {
		spec := vmSpec("lost-0", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae009", objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn)
		spec.Image = "no-such-image"
		_, err := p.EnsureVM(logged(ctx), spec)
		Expect(err).To(MatchError(vsphere.ErrImageNotFound))
		Expect(err.Error()).To(And(ContainSubstring(`"no-such-image"`), ContainSubstring(libraryName), ContainSubstring(namespace+"/lost-0")))
		Expect(vsphere.IsUnreachable(err)).To(BeFalse())
		Expect(e.vmsNamed(ctx, "lost-0")).To(BeEmpty())
	})

	It("deploys from an image whose library item was replaced since its last deploy", func(ctx SpecContext) {
		class := objects.BestEffortClass("c", 1, "1Gi")
		_, err := p.EnsureVM(logged(ctx), vmSpec("before-0", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae010", class, vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())

		By("importing the image again under the same name, as a new item")
		rc, err := e.sim.RestClient(ctx)
		Expect(err).NotTo(HaveOccurred())
		m := library.NewManager(rc)
		lib, err := m.GetLibraryByName(ctx, libraryName)
		Expect(err).NotTo(HaveOccurred())
		ids, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: lib.ID, Name: photon.Name})
		Expect(err).NotTo(HaveOccurred())
		Expect(ids).To(HaveLen(1))
		Expect(m.DeleteLibraryItem(ctx, &library.Item{ID: ids[0]})).To(Succeed())
		Expect(e.sim.SeedLibrary(ctx, libraryName, photon)).To(Succeed())

		_, err = p.EnsureVM(logged(ctx), vmSpec("after-0", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae011", class, vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())
		Expect(e.vmByInstanceUUID(ctx, "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae011")).NotTo(BeNil())
	})

	It("lists the library's images with what their OVF says", func(ctx SpecContext) {
		Expect(e.sim.SeedLibrary(ctx, libraryName, vcsimImage("ubuntu-2004", "ubuntu64Guest"))).To(Succeed())
		images, err := p.ListImages(logged(ctx))
		Expect(err).NotTo(HaveOccurred())
		Expect(images).To(ConsistOf(
			And(
				HaveField("Name", photon.Name), HaveField("Type", library.ItemTypeOVF), HaveField("ID", Not(BeEmpty())),
				HaveField("OSType", "vmwarePhoton64Guest"), HaveField("Version", "v1.20.2"),
				HaveField("FullVersion", "v1.20.2+vmware.1-tkg.2.3e10706"), HaveField("Product", "Tanzu Kubernetes Grid"),
			),
			And(HaveField("Name", "ubuntu-2004"), HaveField("OSType", "ubuntu64Guest")),
		))
		Expect(images).To(HaveEach(HaveField("ContentVersion", Not(BeEmpty()))))
		// A second listing is served from the descriptor cache (keyed by content version) and
		// says the same.
		again, err := p.ListImages(logged(ctx))
		Expect(err).NotTo(HaveOccurred())
		Expect(again).To(ConsistOf(images))
	})

	It("logs in again when vCenter ends its session", func(ctx SpecContext) {
		_, err := p.EnsureVM(logged(ctx), vmSpec("s-0", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae010", objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())

		terminated := terminateOtherSessions(ctx, e)
		Expect(terminated).To(BeNumerically(">=", 1))

		state, err := p.EnsureVM(logged(ctx), vmSpec("s-1", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae011", objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())
		Expect(state.PowerState).To(Equal(vmopv1.VirtualMachinePoweredOn))
		Expect(e.vmByInstanceUUID(ctx, "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae011")).NotTo(BeNil())
	})

	It("reports an unreachable vCenter as unreachable", func(ctx SpecContext) {
		cfg := e.cfg
		cfg.URL = "https://" + closedPort() + "/sdk"
		down, err := vsphere.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		_, err = down.EnsureVM(logged(ctx), vmSpec("x", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae012", objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn))
		Expect(err).To(HaveOccurred())
		Expect(vsphere.IsUnreachable(err)).To(BeTrue(), err.Error())
		Expect(errors.Is(err, vsphere.ErrUnreachable)).To(BeTrue())
		Expect(err.Error()).NotTo(ContainSubstring(cfg.Password))

		By("and the same when a vCenter it was using goes away")
		_, err = p.ListImages(logged(ctx))
		Expect(err).NotTo(HaveOccurred())
		e.sim.Stop()
		_, err = p.ListImages(logged(ctx))
		Expect(vsphere.IsUnreachable(err)).To(BeTrue(), err.Error())
	})

	It("gives up on a vCenter that stops answering after CallTimeout, and carries on when it answers again", func(ctx SpecContext) {
		stall := &stallingProxy{}
		cfg := e.cfg
		cfg.URL = stall.proxy(e.sim.URL()).String()
		cfg.CallTimeout = 300 * time.Millisecond
		hung, err := vsphere.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(hung.Logout)
		spec := vmSpec("stalled", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae013", objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn)
		_, err = hung.ListImages(logged(ctx))
		Expect(err).NotTo(HaveOccurred(), "logged in and read the library through the proxy")

		stall.set(true)
		returned := make(chan error, 1)
		go func() { _, err := hung.EnsureVM(logged(ctx), spec); returned <- err }()
		// Without the timeout the call waits as long as the proxy holds it: the spec's own deadline.
		Eventually(returned).WithTimeout(time.Minute).Should(Receive(&err))
		Expect(vsphere.IsUnreachable(err)).To(BeTrue(), err.Error())
		Expect(err.Error()).To(ContainSubstring("no answer within 300ms"))

		stall.set(false)
		state, err := hung.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())
		Expect(state.PowerState).To(Equal(vmopv1.VirtualMachinePoweredOn))
	})

	It("does not call rejected credentials unreachable, and never shows the password", func(ctx SpecContext) {
		// vcsim accepts any non-empty credentials, so an empty password is the rejected login.
		cfg := e.cfg
		cfg.Password = ""
		bad, err := vsphere.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		_, err = bad.ListImages(logged(ctx))
		Expect(err).To(HaveOccurred())
		Expect(vsphere.IsUnreachable(err)).To(BeFalse(), err.Error())
		Expect(err.Error()).To(ContainSubstring("log in"))

		cfg.Password = "s3cret-pa55"
		cfg.URL = "https://admin:s3cret-pa55@vcenter.example.com/sdk"
		Expect(cfg.String()).NotTo(ContainSubstring("s3cret-pa55"))
	})
})

// deployRaw deploys the test image as name into the namespace's pool and folder, without sizing
// it or setting its instance UUID: under a VirtualMachine's DeployName, what a crash right after
// the provider's deploy leaves behind; under another name, a VM someone else made.
func deployRaw(ctx context.Context, e *env, name string) {
	GinkgoHelper()
	rc, err := e.sim.RestClient(ctx)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx context.Context) { _ = rc.Logout(ctx) })
	pool, err := e.finder.ResourcePool(ctx, e.cfg.Cluster+"/Resources/"+namespace)
	Expect(err).NotTo(HaveOccurred())
	folder, err := e.finder.Folder(ctx, "vm/"+namespace)
	Expect(err).NotTo(HaveOccurred())
	_, err = vcenter.NewManager(rc).DeployLibraryItem(ctx, itemID(ctx, rc, photon.Name), vcenter.Deploy{
		DeploymentSpec: vcenter.DeploymentSpec{Name: name, AcceptAllEULA: true},
		Target:         vcenter.Target{ResourcePoolID: pool.Reference().Value, FolderID: folder.Reference().Value},
	})
	Expect(err).NotTo(HaveOccurred())
}

func itemID(ctx context.Context, rc *rest.Client, name string) string {
	GinkgoHelper()
	m := library.NewManager(rc)
	libs, err := m.FindLibrary(ctx, library.Find{Name: libraryName})
	Expect(err).NotTo(HaveOccurred())
	Expect(libs).To(HaveLen(1))
	ids, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: libs[0], Name: name})
	Expect(err).NotTo(HaveOccurred())
	Expect(ids).To(HaveLen(1))
	return ids[0]
}

// terminateOtherSessions ends every SOAP session but the admin client's own, as a vCenter
// restart or an administrator would, and says how many it ended.
func terminateOtherSessions(ctx context.Context, e *env) int {
	GinkgoHelper()
	var sm mo.SessionManager
	ref := *e.admin.ServiceContent.SessionManager
	Expect(property.DefaultCollector(e.admin.Client).RetrieveOne(ctx, ref, []string{"sessionList", "currentSession"}, &sm)).To(Succeed())
	var ids []string
	for _, s := range sm.SessionList {
		if s.Key != sm.CurrentSession.Key {
			ids = append(ids, s.Key)
		}
	}
	if len(ids) == 0 {
		return 0
	}
	Expect(govsession.NewManager(e.admin.Client).TerminateSession(ctx, ids)).To(Succeed())
	return len(ids)
}

// vcsimImage is a second image, different from photon where ListImages can tell.
func vcsimImage(name, osType string) vcsim.ImageSpec {
	return vcsim.ImageSpec{Name: name, OSType: osType}
}
