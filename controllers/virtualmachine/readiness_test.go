package virtualmachine_test

import (
	"net"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vim25/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

var _ = Describe("Readiness", func() {
	var ns, class string
	BeforeEach(func() { ns, class = boundNamespace() })

	It("follows a TCP probe of the VM's address as a listener there comes and goes", func() {
		port := testenv.FreePort()
		vm := objects.VM(ns, "tcp", class, ubuntu.Name)
		vm.Spec.ReadinessProbe = &vmopv1.Probe{TCPSocket: &vmopv1.TCPSocketAction{Port: intstr.FromInt(port)}, PeriodSeconds: 1, TimeoutSeconds: 1}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		ip := poweredOn(vm).Status.VmIp
		Expect(net.ParseIP(ip).IsLoopback()).To(BeTrue(), "the probe dials %s: specs stay on loopback", ip)
		Eventually(ready).WithArguments(vm).Should(And(HaveField("Reason", vmopv1.ReadinessProbeFailedReason),
			HaveField("Message", ContainSubstring(net.JoinHostPort(ip, strconv.Itoa(port))))))

		By("listening where the probe dials")
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = l.Close() }) // also when the spec fails before closing it
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
		Eventually(func() corev1.ConditionStatus { return ready(vm).Status }).Should(Equal(corev1.ConditionTrue))

		By("closing the listener")
		Expect(l.Close()).To(Succeed())
		Eventually(ready).WithArguments(vm).Should(HaveField("Reason", vmopv1.ReadinessProbeFailedReason))
	})

	It("follows the VMware Tools heartbeat against its threshold", func() {
		vm := objects.VM(ns, "heartbeat", class, ubuntu.Name)
		vm.Spec.ReadinessProbe = &vmopv1.Probe{GuestHeartbeat: &vmopv1.GuestHeartbeatAction{ThresholdStatus: "yellow"}, PeriodSeconds: 1}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		moID := poweredOn(vm).Status.UniqueID
		Eventually(ready).WithArguments(vm).Should(And(HaveField("Reason", vmopv1.ReadinessProbeFailedReason),
			HaveField("Message", Equal("VMware Tools heartbeat is gray; ready at yellow or better"))))

		Expect(sim.SetGuestHeartbeat(moID, types.ManagedEntityStatusYellow)).To(Succeed())
		Eventually(func() corev1.ConditionStatus { return ready(vm).Status }).Should(Equal(corev1.ConditionTrue))
		Expect(sim.SetGuestHeartbeat(moID, types.ManagedEntityStatusRed)).To(Succeed())
		Eventually(ready).WithArguments(vm).Should(HaveField("Message", ContainSubstring("heartbeat is red")))
	})
})
