package virtualmachineservice_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vim25/types"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// leaveBound is how long a VM may take to leave the endpoints once its own status says it no
// longer backs the service: the design's goal is 2 s, met by watching; this generous bound only
// keeps a busy machine from failing the spec.
const leaveBound = 10 * time.Second

// update applies change to the latest obj, retrying on conflicts.
func update[T client.Object](obj T, change func(T)) {
	GinkgoHelper()
	testenv.Update(k8s, obj, change)
}

// labelledVM creates a powered-on VM labelled app=<app> and returns it once it has an address.
func labelledVM(ns, class, name, app string, probe *vmopv1.Probe) *vmopv1.VirtualMachine {
	GinkgoHelper()
	vm := objects.VM(ns, name, class, image.Name)
	vm.Labels = map[string]string{"app": app}
	vm.Spec.ReadinessProbe = probe
	Expect(k8s.Create(ctx, vm)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(vm), vm)).To(Succeed())
		g.Expect(vm.Status.PowerState).To(Equal(vmopv1.VirtualMachinePoweredOn))
		g.Expect(vm.Status.VmIp).NotTo(BeEmpty())
	}).WithTimeout(60 * time.Second).Should(Succeed())
	return vm
}

// slicesOf are the EndpointSlices the controller wrote for the service.
func slicesOf(svc *vmopv1.VirtualMachineService) []discoveryv1.EndpointSlice {
	GinkgoHelper()
	list := &discoveryv1.EndpointSliceList{}
	Expect(k8s.List(ctx, list, client.InNamespace(svc.Namespace), client.MatchingLabels{
		discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: vmopv1.VirtualMachineServiceManagedBy,
	})).To(Succeed())
	return list.Items
}

// addresses returns a poller of the addresses in the service's slices.
func addresses(svc *vmopv1.VirtualMachineService) func() []string {
	return func() []string {
		out := []string{}
		for _, s := range slicesOf(svc) {
			for _, e := range s.Endpoints {
				out = append(out, e.Addresses...)
			}
		}
		return out
	}
}

func fresh[T client.Object](obj T) T {
	GinkgoHelper()
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	return obj
}

func condition(svc *vmopv1.VirtualMachineService, t vmopv1.ConditionType) vmopv1.Condition {
	c := conditions.Get(fresh(svc).Status.Conditions, t)
	if c == nil {
		return vmopv1.Condition{}
	}
	return *c
}

var _ = Describe("VirtualMachineService", func() {
	var ns, class string
	BeforeEach(func() { ns, class = boundNamespace() })

	It("backs a ClusterIP service with the ready VMs it selects, as they power off and on, change labels and go", func() {
		web1 := labelledVM(ns, class, "web-1", "web", nil)
		web2 := labelledVM(ns, class, "web-2", "web", nil)
		db := labelledVM(ns, class, "db", "db", nil)

		svc := objects.VMService(ns, "web", "web")
		svc.Spec.Ports = append(svc.Spec.Ports, vmopv1.VirtualMachineServicePort{Name: "dns", Protocol: "UDP", Port: 53})
		Expect(k8s.Create(ctx, svc)).To(Succeed())

		By("owning a Service of the same name, without a pod selector, with the ports mapped")
		service := &corev1.Service{}
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(svc), service) }).Should(Succeed())
		Expect(service.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
		Expect(service.Spec.Selector).To(BeEmpty())
		Expect(service.Spec.Ports).To(ConsistOf(
			And(HaveField("Name", "http"), HaveField("Protocol", corev1.ProtocolTCP), HaveField("Port", int32(80)), HaveField("TargetPort", intstr.FromInt32(8080))),
			And(HaveField("Name", "dns"), HaveField("Protocol", corev1.ProtocolUDP), HaveField("Port", int32(53)), HaveField("TargetPort", intstr.FromInt32(53))),
		))
		Expect(service.OwnerReferences).To(ConsistOf(And(HaveField("UID", fresh(svc).UID), HaveField("Controller", ptr.To(true)))))

		By("listing the selected VMs' addresses, on the ports the VMs serve")
		Eventually(addresses(svc)).Should(ConsistOf(web1.Status.VmIp, web2.Status.VmIp))
		slices := slicesOf(svc)
		Expect(slices).To(HaveLen(1))
		Expect(slices[0].AddressType).To(Equal(discoveryv1.AddressTypeIPv4))
		Expect(slices[0].Ports).To(ConsistOf(
			discoveryv1.EndpointPort{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(int32(8080))},
			discoveryv1.EndpointPort{Name: ptr.To("dns"), Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(int32(53))},
		))
		Expect(slices[0].Endpoints).To(ContainElement(HaveField("TargetRef", And(HaveField("Kind", "VirtualMachine"), HaveField("Name", "web-1")))))
		Expect(addresses(svc)()).NotTo(ContainElement(db.Status.VmIp))
		Eventually(func() string { return fresh(svc).Status.ClusterIP }).Should(Equal(fresh(service).Spec.ClusterIP))
		Expect(condition(svc, vmopv1.ServiceReadyCondition).Status).To(Equal(corev1.ConditionTrue))
		Expect(condition(svc, vmopv1.EndpointsReadyCondition).Status).To(Equal(corev1.ConditionTrue))

		By("dropping a VM that powers off, and taking it back when it is on again")
		update(web1, func(vm *vmopv1.VirtualMachine) { vm.Spec.PowerState = vmopv1.VirtualMachinePoweredOff })
		Eventually(func() vmopv1.VirtualMachinePowerState { return fresh(web1).Status.PowerState }).Should(Equal(vmopv1.VirtualMachinePoweredOff))
		Eventually(addresses(svc)).WithTimeout(leaveBound).Should(ConsistOf(web2.Status.VmIp))
		update(web1, func(vm *vmopv1.VirtualMachine) { vm.Spec.PowerState = vmopv1.VirtualMachinePoweredOn })
		Eventually(addresses(svc)).Should(ConsistOf(web1.Status.VmIp, web2.Status.VmIp))

		By("dropping a VM whose labels stop matching, and adding one that starts to")
		update(web2, func(vm *vmopv1.VirtualMachine) { vm.Labels["app"] = "retired" })
		update(db, func(vm *vmopv1.VirtualMachine) { vm.Labels["app"] = "web" })
		Eventually(addresses(svc)).WithTimeout(leaveBound).Should(ConsistOf(web1.Status.VmIp, db.Status.VmIp))

		By("dropping deleted VMs; with none left, EndpointsReady turns False with a Warning event")
		Expect(k8s.Delete(ctx, web1)).To(Succeed())
		Expect(k8s.Delete(ctx, db)).To(Succeed())
		Eventually(addresses(svc)).WithTimeout(leaveBound).Should(BeEmpty())
		Expect(slicesOf(svc)).To(HaveLen(1), "an empty slice keeps the ports visible")
		Eventually(func() vmopv1.Condition { return condition(svc, vmopv1.EndpointsReadyCondition) }).Should(And(
			HaveField("Status", corev1.ConditionFalse), HaveField("Reason", vmopv1.NoReadyVirtualMachinesReason)))
		Eventually(eventReasons(svc)).Should(ContainElement(vmopv1.NoReadyVirtualMachinesReason))
	})

	It("drops a VM whose readiness probe fails and takes it back when it passes", func() {
		probe := &vmopv1.Probe{GuestHeartbeat: &vmopv1.GuestHeartbeatAction{ThresholdStatus: "green"}, PeriodSeconds: 1}
		vm := labelledVM(ns, class, "probed", "app", probe)
		svc := objects.VMService(ns, "probed", "app")
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		Eventually(func() vmopv1.Condition { return condition(svc, vmopv1.EndpointsReadyCondition) }).Should(
			HaveField("Reason", vmopv1.NoReadyVirtualMachinesReason), "a VM whose probe has not passed gets no traffic")
		Expect(addresses(svc)()).To(BeEmpty())

		Expect(sim.SetGuestHeartbeat(fresh(vm).Status.UniqueID, types.ManagedEntityStatusGreen)).To(Succeed())
		Eventually(addresses(svc)).Should(ConsistOf(vm.Status.VmIp))
		Expect(sim.SetGuestHeartbeat(vm.Status.UniqueID, types.ManagedEntityStatusRed)).To(Succeed())
		Eventually(func() string { return condition(svc, vmopv1.EndpointsReadyCondition).Reason }).Should(Equal(vmopv1.NoReadyVirtualMachinesReason))
		Eventually(addresses(svc)).WithTimeout(leaveBound).Should(BeEmpty())
	})

	It("leaves out a VM whose loopback address no EndpointSlice may hold, and says so", func() {
		vm := objects.VM(ns, "loopback", class, image.Name)
		vm.Labels = map[string]string{"app": "loop"}
		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{NetworkType: "vsphere-distributed", NetworkName: "DC0_DVPG0"}}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		svc := objects.VMService(ns, "loop", "loop")
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		Eventually(func() vmopv1.Condition { return condition(svc, vmopv1.EndpointsReadyCondition) }).WithTimeout(60 * time.Second).Should(And(
			HaveField("Reason", vmopv1.EndpointAddressNotAllowedReason), HaveField("Message", MatchRegexp(`loopback \(127\.0\.144\.\d+\)`))))
		Expect(addresses(svc)()).To(BeEmpty())
	})

	It("makes an ExternalName Service for an ExternalName service, with no endpoints", func() {
		svc := &vmopv1.VirtualMachineService{}
		svc.Namespace, svc.Name = ns, "db-alias"
		svc.Spec = vmopv1.VirtualMachineServiceSpec{Type: vmopv1.VirtualMachineServiceTypeExternalName, ExternalName: "db.example.com"}
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		service := &corev1.Service{}
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(svc), service) }).Should(Succeed())
		Expect(service.Spec.Type).To(Equal(corev1.ServiceTypeExternalName))
		Expect(service.Spec.ExternalName).To(Equal("db.example.com"))
		Eventually(func() corev1.ConditionStatus { return condition(svc, vmopv1.ServiceReadyCondition).Status }).Should(Equal(corev1.ConditionTrue))
		Expect(slicesOf(svc)).To(BeEmpty())
		Expect(fresh(svc).Status.ClusterIP).To(BeEmpty())
	})

	It("never adopts a Service of its name that it does not control", func() {
		theirs := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443}}}}
		theirs.Namespace, theirs.Name = ns, "taken"
		Expect(k8s.Create(ctx, theirs)).To(Succeed())
		labelledVM(ns, class, "taker", "taken", nil)
		svc := objects.VMService(ns, "taken", "taken")
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		Eventually(func() vmopv1.Condition { return condition(svc, vmopv1.ServiceReadyCondition) }).Should(And(
			HaveField("Reason", vmopv1.ServiceNameTakenReason), HaveField("Severity", vmopv1.ConditionSeverityError)))
		Consistently(func() []discoveryv1.EndpointSlice { return slicesOf(svc) }).WithTimeout(2 * time.Second).Should(BeEmpty())
		Expect(fresh(theirs).Spec.Ports).To(ConsistOf(HaveField("Port", int32(443))))
		Expect(theirs.OwnerReferences).To(BeEmpty())
	})
})

// eventReasons returns a poller of the reasons of the events recorded on the service.
func eventReasons(svc *vmopv1.VirtualMachineService) func() []string {
	return func() []string {
		list := &corev1.EventList{}
		Expect(k8s.List(ctx, list, client.InNamespace(svc.Namespace))).To(Succeed())
		var out []string
		for _, e := range list.Items {
			if e.InvolvedObject.Kind == "VirtualMachineService" && e.InvolvedObject.Name == svc.Name {
				out = append(out, e.Reason)
			}
		}
		return out
	}
}
