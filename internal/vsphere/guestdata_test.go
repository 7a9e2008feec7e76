package vsphere_test

import (
	"context"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/vim25/types"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("Guest data as vApp properties", func() {
	const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae0a1"
	var e *env
	BeforeEach(func(ctx SpecContext) { e = newEnv(ctx) })

	// ensure makes the VM with the given vApp property values and no guest data ExtraConfig,
	// through a new provider each time, as a restarted manager would.
	ensure := func(ctx context.Context, properties map[string]string) vsphere.VMState {
		GinkgoHelper()
		spec := vmSpec("ovf-0", uuid, objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn)
		spec.GuestData = func([]vsphere.NICState) (vsphere.GuestData, error) {
			return vsphere.GuestData{ExtraConfig: map[string]string{}, VAppProperties: properties}, nil
		}
		state, err := e.provider().EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())
		return state
	}
	// properties reads the VM's vApp properties through the admin client, by id.
	properties := func(ctx context.Context) map[string]types.VAppPropertyInfo {
		GinkgoHelper()
		vm := e.vmByInstanceUUID(ctx, uuid)
		Expect(vm.Config.VAppConfig).NotTo(BeNil())
		out := map[string]types.VAppPropertyInfo{}
		for _, prop := range vm.Config.VAppConfig.GetVmConfigInfo().Property {
			out[prop.Id] = prop
		}
		return out
	}
	// history is the VM's reconfigure and power on events, oldest first.
	history := func(ctx context.Context) []types.BaseEvent {
		GinkgoHelper()
		vm := e.vmByInstanceUUID(ctx, uuid)
		events, err := event.NewManager(e.admin.Client).QueryEvents(ctx, types.EventFilterSpec{
			Entity: &types.EventFilterSpecByEntity{Entity: vm.Self, Recursion: types.EventFilterSpecRecursionOptionSelf},
			Type:   []string{"VmReconfiguredEvent", "VmPoweredOnEvent"},
		})
		Expect(err).NotTo(HaveOccurred())
		slices.SortFunc(events, func(a, b types.BaseEvent) int { return int(a.GetEvent().Key - b.GetEvent().Key) })
		return events
	}
	setsVApp := func(ev types.BaseEvent) bool {
		r, ok := ev.(*types.VmReconfiguredEvent)
		return ok && r.ConfigSpec.VAppConfig != nil
	}

	It("sets each key as the value of the property with that id before the first power on, and reports the keys it cannot set", func(ctx SpecContext) {
		state := ensure(ctx, map[string]string{"hostname": "web-0", "user-data": "I2Nsb3VkLWNvbmZpZw==", "build": "7", "nonesuch": "x"})

		got := properties(ctx)
		Expect(got["hostname"].Value).To(Equal("web-0"))
		Expect(got["user-data"].Value).To(Equal("I2Nsb3VkLWNvbmZpZw=="))
		Expect(got["build"].Value).To(BeEmpty(), "a property the image keeps to itself is never set")
		Expect(got["build"].DefaultValue).To(Equal("42"))
		Expect(got).NotTo(HaveKey("nonesuch"), "no property is added")
		Expect(state.UndeclaredProperties).To(Equal([]string{"build", "nonesuch"}))

		events := history(ctx)
		set := slices.IndexFunc(events, setsVApp)
		on := slices.IndexFunc(events, func(ev types.BaseEvent) bool { _, ok := ev.(*types.VmPoweredOnEvent); return ok })
		Expect(set).To(BeNumerically(">=", 0))
		Expect(on).To(BeNumerically(">", set), "the guest's first boot already sees the values")
	})

	It("follows edits, gives a removed key's property back its default, and reconfigures nothing when nothing changed", func(ctx SpecContext) {
		ensure(ctx, map[string]string{"hostname": "web-0", "user-data": "a"})

		By("changing one value and removing the other key")
		state := ensure(ctx, map[string]string{"hostname": "web-1"})
		got := properties(ctx)
		Expect(got["hostname"].Value).To(Equal("web-1"))
		Expect(got["user-data"].Value).To(BeEmpty(), "no value: the guest sees the OVF default")
		Expect(state.UndeclaredProperties).To(BeEmpty())

		By("asking for the same again")
		before := len(history(ctx))
		ensure(ctx, map[string]string{"hostname": "web-1"})
		Expect(history(ctx)).To(HaveLen(before), "no reconfigure when every value is already right")

		By("asking for no values, as a VM without OvfEnv guest data does")
		ensure(ctx, map[string]string{})
		Expect(properties(ctx)).To(HaveEach(HaveField("Value", BeEmpty())))
	})

	It("does not touch vApp properties when the guest data leaves them (nil)", func(ctx SpecContext) {
		ensure(ctx, map[string]string{"hostname": "kept"})
		ensure(ctx, nil)
		Expect(properties(ctx)["hostname"].Value).To(Equal("kept"))
	})
})
