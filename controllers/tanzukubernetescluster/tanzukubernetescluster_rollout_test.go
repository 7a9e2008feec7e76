package tanzukubernetescluster

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

var _ = Describe("planPool", func() {
	seq := []string{"n0", "n1", "n2", "n3", "n4", "n5"}
	vm := func(name string, index int, upToDate, ready bool) poolVM {
		return poolVM{Name: name, Index: index, UpToDate: upToDate, Ready: ready}
	}

	DescribeTable("plans one step",
		func(count int, vms []poolVM, mayReplace bool, create, del, replaced []string) {
			plan := planPool(count, vms, seq, mayReplace)
			Expect(plan.Create).To(Equal(create), "create")
			Expect(plan.Delete).To(Equal(del), "delete")
			Expect(plan.Replaced).To(Equal(replaced), "replaced")
		},
		Entry("a new pool makes every machine at once", 3, nil, true, []string{"n0", "n1", "n2"}, nil, nil),
		Entry("a rollout starts with one surge machine, under the first free name", 3,
			[]poolVM{vm("n0", 0, false, true), vm("n1", 1, false, true), vm("n2", 2, false, true)}, true,
			[]string{"n3"}, nil, nil),
		Entry("an outdated machine stays until its replacement is ready", 3,
			[]poolVM{vm("n0", 0, false, true), vm("n1", 1, false, true), vm("n2", 2, false, true), vm("n3", 3, true, false)}, true,
			nil, nil, nil),
		Entry("a ready replacement lets the first outdated machine go", 3,
			[]poolVM{vm("n0", 0, false, true), vm("n1", 1, false, true), vm("n2", 2, false, true), vm("n3", 3, true, true)}, true,
			nil, []string{"n0"}, []string{"n0"}),
		Entry("no new machine while an outdated one is still being deleted", 3,
			[]poolVM{{Name: "n0", Deleting: true}, vm("n1", 1, false, true), vm("n2", 2, false, true), vm("n3", 3, true, true)}, true,
			nil, nil, nil),
		Entry("once it is gone, the next replacement takes the freed name", 3,
			[]poolVM{vm("n1", 1, false, true), vm("n2", 2, false, true), vm("n3", 3, true, true)}, true,
			[]string{"n0"}, nil, nil),
		Entry("an outdated machine that is not ready goes first, costing no ready node", 3,
			[]poolVM{vm("n0", 0, false, true), vm("n1", 1, false, false), vm("n2", 2, false, true), vm("n3", 3, true, false)}, true,
			nil, []string{"n1"}, []string{"n1"}),
		Entry("workers wait while the control plane rolls", 3,
			[]poolVM{vm("n0", 0, false, true), vm("n1", 1, false, true), vm("n2", 2, false, true)}, false,
			nil, nil, nil),
		Entry("while waiting, a missing machine is still made, from the new spec", 3,
			[]poolVM{vm("n0", 0, false, true), vm("n2", 2, false, true)}, false,
			[]string{"n1"}, nil, nil),
		Entry("a scale down removes the highest indexes", 2,
			[]poolVM{vm("n0", 0, true, true), vm("n1", 1, true, true), vm("n2", 2, true, true), vm("n3", 3, true, false)}, true,
			nil, []string{"n2", "n3"}, nil),
		Entry("a scale down during a rollout removes outdated machines first", 1,
			[]poolVM{vm("n0", 0, false, true), vm("n1", 1, false, true), vm("n2", 2, true, true)}, true,
			nil, []string{"n0", "n1"}, []string{"n0", "n1"}),
		Entry("a scale up during a rollout stays within count+1", 4,
			[]poolVM{vm("n0", 0, false, true), vm("n1", 1, false, true), vm("n2", 2, false, true)}, true,
			[]string{"n3", "n4"}, nil, nil),
	)

	It("rolls a pool one machine at a time, never below count ready nor above count+1 machines", func() {
		type machine struct {
			upToDate, ready, deleting bool
		}
		const count = 3
		long := []string{"a", "b", "c", "d", "e", "f", "g"}
		pool := map[string]*machine{"a": {ready: true}, "b": {ready: true}, "c": {ready: true}}
		steps := 0
		for ; steps < 100; steps++ {
			var vms []poolVM
			for i, name := range long {
				if m, ok := pool[name]; ok {
					vms = append(vms, poolVM{Name: name, Index: i, UpToDate: m.upToDate, Ready: m.ready, Deleting: m.deleting})
				}
			}
			plan := planPool(count, vms, long, true)
			ready := 0
			// The world moves on: deletions finish, made VMs boot, then the plan applies.
			for name, m := range pool {
				switch {
				case m.deleting:
					delete(pool, name)
				case !m.ready:
					m.ready = true
				}
			}
			for _, name := range plan.Create {
				pool[name] = &machine{upToDate: true}
			}
			for _, name := range plan.Delete {
				pool[name].deleting = true
			}
			outdated := 0
			for _, m := range pool {
				if m.ready && !m.deleting {
					ready++
				}
				if !m.upToDate {
					outdated++
				}
			}
			Expect(len(pool)).To(BeNumerically("<=", count+1), "step %d", steps)
			Expect(ready).To(BeNumerically(">=", count), "step %d", steps)
			if outdated == 0 && len(pool) == count && len(plan.Create) == 0 {
				break
			}
		}
		Expect(steps).To(BeNumerically("<", 100), "the rollout finishes")
		for _, m := range pool {
			Expect(m.upToDate).To(BeTrue())
		}
	})
})

var _ = Describe("machineSpec", func() {
	target := machineSpec{Class: "best-effort-small", StorageClass: "sc", Release: "v1.21.6+vmware.1-tkg.1.b3d708a", Image: "img-21"}

	It("is read back from the annotation the controller writes", func() {
		vm := &vmopv1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{runv1.MachineSpecAnnotation: target.annotation()}}}
		Expect(recordedSpec(vm)).To(Equal(target))
		Expect(recordedSpec(vm).matches(target)).To(BeTrue())
	})

	It("compares class, storage class and release, never the class as it reads today", func() {
		Expect(machineSpec{Class: "best-effort-medium", StorageClass: "sc", Release: target.Release}.matches(target)).To(BeFalse())
		Expect(machineSpec{Class: target.Class, StorageClass: "other", Release: target.Release}.matches(target)).To(BeFalse())
		Expect(machineSpec{Class: target.Class, StorageClass: "sc", Release: "v1.20.2+vmware.1-tkg.2.3e10706"}.matches(target)).To(BeFalse())
	})

	It("falls back to the VM's own spec for a VM made before specs were recorded", func() {
		vm := &vmopv1.VirtualMachine{Spec: vmopv1.VirtualMachineSpec{ClassName: target.Class, StorageClass: "sc", ImageName: "img-21"}}
		Expect(recordedSpec(vm).matches(target)).To(BeTrue())
		vm.Spec.ImageName = "img-20"
		Expect(recordedSpec(vm).matches(target)).To(BeFalse())
	})
})
