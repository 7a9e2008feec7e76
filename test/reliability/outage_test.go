package reliability_test

import (
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
)

// R3: vCenter stops answering for a minute while VMs are provisioned and deleted. Nothing may be
// deleted because of it, the VMs must say vCenter is unreachable, and everything must converge
// within one retry interval of its return.
var _ = Describe("A vCenter outage in the middle of provisioning and deletions", Ordered, Label("reliability"), func() {
	const (
		outage = 60 * time.Second
		// retryInterval is the VM controller's failure backoff cap; convergence within it, plus
		// the time a deploy takes, is the bound.
		retryInterval = time.Minute
		running       = 20
		deleted       = 10
		provisioning  = 20
	)
	var (
		f     *fleet
		proxy *outageProxy
	)

	BeforeAll(func() {
		f = newFleet()
		proxy = startProxy(f.sim.URL().Host)
		DeferCleanup(proxy.close)
		f.env.ManagerForSuite(manager.Options{Enforcement: enforcement.Warn, VCenter: &manager.VCenterOptions{
			Config:            f.vcenterConfig(proxy.addr),
			ImageSyncInterval: 500 * time.Millisecond,
			IPPool:            ipPool,
		}})
	})

	It("deletes nothing because of it, says vCenter is unreachable, and converges within one retry interval of its return", func() {
		nss := f.addNamespaces(2)
		steady := f.createVMs(nss[:1], running)
		Eventually(f.notRunning).WithTimeout(2 * time.Minute).Should(Succeed())
		f.waitForRelease()
		images, releases := f.countOf(&vmopv1.VirtualMachineImageList{}), f.countOf(&runv1.TanzuKubernetesReleaseList{})

		By("asking for new VMs and a cluster; once some are deployed, deleting running VMs and cutting vCenter off")
		f.createVMs(nss[1:], provisioning)
		f.createCluster(nss[1], "during-outage")
		Eventually(f.unprovisioned).Should(BeNumerically("<=", provisioning+2-3))
		for _, vm := range steady[:deleted] {
			Expect(f.env.Client.Delete(ctx, vm)).To(Succeed())
		}
		proxy.cut()
		cut := time.Now()
		atCut := f.inVSphere()
		objectsAtCut := f.virtualMachines()
		pendingAtCut := f.unprovisioned()

		By("holding every deletion and every object while vCenter is away")
		Eventually(f.unreachable).WithTimeout(outage / 2).Should(BeNumerically(">", 0))
		time.Sleep(time.Until(cut.Add(outage)))
		lost := lostDuringOutage(objectsAtCut, f.virtualMachines(), atCut)
		saidAtEnd, unreachable := provisionedReasons(f.virtualMachines()), f.unreachable()
		held := deletionsHeld(f.virtualMachines())
		Expect(f.countOf(&vmopv1.VirtualMachineImageList{})).To(Equal(images), "the image sync deletes nothing while the library cannot be read")
		Expect(f.countOf(&runv1.TanzuKubernetesReleaseList{})).To(Equal(releases))
		vsphereLost := missingFrom(atCut, f.inVSphere())

		By("bringing vCenter back")
		proxy.restore()
		returned := time.Now()
		Eventually(func() error {
			if err := f.notRunning(); err != nil {
				return err
			}
			if err := f.clustersNotRunning(); err != nil {
				return err
			}
			return f.deletionsPending()
		}).WithTimeout(retryInterval + 15*time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		converged := time.Since(returned)
		t := f.tally()

		reportFigure("R3 vCenter outage: connections to vCenter refused for %s while %d VMs and a 2-node cluster were provisioning (%d not yet deployed at the cut) and %d running VMs were being deleted: "+
			"%d VirtualMachines and %d vSphere VMs lost during the outage, %d/%d deletions held by their finalizer, images and releases kept (%d, %d); "+
			"%d VirtualMachines said VCenterUnreachable at the end of the outage (VirtualMachineProvisioned reasons: %s); converged %.1f s after vCenter returned (bound: the %s retry cap); then %s",
			outage, provisioning, pendingAtCut, deleted, lost, vsphereLost, held, deleted, images, releases, unreachable, saidAtEnd, converged.Seconds(), retryInterval, t)
		Expect(unreachable).To(BeNumerically(">=", pendingAtCut+held), "every VM with work waiting for vCenter says why")
		Expect(lost).To(BeZero())
		Expect(vsphereLost).To(BeZero())
		Expect(t).To(Equal(tally{Objects: running - deleted + provisioning + 2, VSphereVMs: running - deleted + provisioning + 2}))
	})
})

// unreachable counts the VirtualMachines that say vCenter is unreachable: in
// VirtualMachineProvisioned, or, for a cluster's nodes waiting on their resource policy, through
// the policy's own reason that their VirtualMachinePrereqReady quotes.
func (f *fleet) unreachable() int {
	n := 0
	for _, vm := range f.virtualMachines() {
		provisioned := conditions.Get(vm.Status.Conditions, vmopv1.VirtualMachineProvisionedCondition)
		prereq := conditions.Get(vm.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)
		switch {
		case provisioned != nil && provisioned.Reason == vmopv1.VCenterUnreachableReason:
			n++
		case prereq != nil && prereq.Reason == vmopv1.VirtualMachineSetResourcePolicyNotReadyReason && strings.Contains(prereq.Message, "unreachable"):
			n++
		}
	}
	return n
}

// missingFrom counts the instance UUIDs of was that now lacks.
func missingFrom(was, now map[string]bool) int {
	n := 0
	for uuid := range was {
		if !now[uuid] {
			n++
		}
	}
	return n
}

// provisionedReasons counts the VirtualMachines by the reason of their VirtualMachineProvisioned
// condition ("True" when provisioned), as "Reason N" sorted by reason.
func provisionedReasons(vms []vmopv1.VirtualMachine) string {
	counts := map[string]int{}
	for _, vm := range vms {
		reason := "none"
		if c := conditions.Get(vm.Status.Conditions, vmopv1.VirtualMachineProvisionedCondition); c != nil {
			reason = c.Reason
			if c.Status == corev1.ConditionTrue {
				reason = "True"
			}
		}
		counts[reason]++
	}
	var parts []string
	for reason, n := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", reason, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// lostDuringOutage counts the VirtualMachines present at the cut whose vSphere VM still existed
// then, and which are gone now: their deletion finished without vCenter.
func lostDuringOutage(atCut, now []vmopv1.VirtualMachine, inVSphere map[string]bool) int {
	present := map[string]bool{}
	for _, vm := range now {
		present[string(vm.UID)] = true
	}
	lost := 0
	for _, vm := range atCut {
		if !present[string(vm.UID)] && inVSphere[string(vm.UID)] {
			lost++
		}
	}
	return lost
}

// deletionsHeld counts the VirtualMachines being deleted whose finalizer is still on.
func deletionsHeld(vms []vmopv1.VirtualMachine) int {
	n := 0
	for _, vm := range vms {
		if !vm.DeletionTimestamp.IsZero() {
			n++
		}
	}
	return n
}

// deletionsPending says whether any VirtualMachine is still being deleted.
func (f *fleet) deletionsPending() error {
	if n := deletionsHeld(f.virtualMachines()); n > 0 {
		return fmt.Errorf("%d VirtualMachines still being deleted", n)
	}
	return nil
}

// inVSphere is the set of instance UUIDs in the namespaces' folders, read past the proxy.
func (f *fleet) inVSphere() map[string]bool {
	GinkgoHelper()
	placed, err := f.inspect.VMsInFolders(ctx, f.namespaces...)
	Expect(err).NotTo(HaveOccurred())
	uuids := map[string]bool{}
	for _, p := range placed {
		uuids[p.InstanceUUID] = true
	}
	return uuids
}

// countOf is how many objects of list's kind the control plane holds.
func (f *fleet) countOf(list client.ObjectList) int {
	GinkgoHelper()
	Expect(f.env.Client.List(ctx, list)).To(Succeed())
	return meta.LenList(list)
}

// outageProxy forwards loopback TCP connections to vCenter until cut: then it closes every
// connection and refuses new ones, as an unreachable vCenter does, until restored.
type outageProxy struct {
	target, addr string

	mu       sync.Mutex
	listener net.Listener
	conns    map[net.Conn]bool
}

func startProxy(target string) *outageProxy {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	p := &outageProxy{target: target, addr: l.Addr().String(), listener: l, conns: map[net.Conn]bool{}}
	go p.serve(l)
	return p
}

func (p *outageProxy) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return // cut or closed
		}
		go p.forward(c)
	}
}

// forward copies both ways between the client and vCenter until either side closes.
func (p *outageProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) { _, _ = io.Copy(dst, src); done <- struct{}{} }
	go pipe(up, c)
	go pipe(c, up)
	<-done
	p.untrack(c, up)
}

// track remembers the connections so a cut closes them; false (and both closed) when a cut
// came first.
func (p *outageProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listener == nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = true
	}
	return true
}

func (p *outageProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// cut closes the listener and every open connection.
func (p *outageProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listener != nil {
		_ = p.listener.Close()
		p.listener = nil
	}
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// restore listens again on the same address.
func (p *outageProxy) restore() {
	GinkgoHelper()
	var l net.Listener
	Eventually(func() (err error) {
		l, err = net.Listen("tcp", p.addr)
		return err
	}).WithTimeout(10 * time.Second).Should(Succeed())
	p.mu.Lock()
	p.listener = l
	p.mu.Unlock()
	go p.serve(l)
}

func (p *outageProxy) close() { p.cut() }
