package e2e_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/supervisor"
	"github.com/vm-service/vm-service/test/cli"
	"github.com/vm-service/vm-service/test/testenv"
)

// The e2e suite replays walkthrough.md against the local supervisor, as its users would: the
// admin's vCenter actions with govc, the developer's with kubectl, and assertions on what they
// print.
func TestWalkthrough(t *testing.T) {
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RegisterFailHandler(Fail)
	RunSpecs(t, "walkthrough e2e suite")
}

var _ = BeforeSuite(func() { ctrl.SetLogger(GinkgoLogr) })

var ctx = context.Background()

// manifest is walkthrough step 5's cluster, unchanged.
var manifest = filepath.Join(testenv.RepoRoot(), "config", "samples", "run_v1alpha1_tanzukubernetescluster.yaml")

// walkthrough is a running local supervisor and a shell against it.
type walkthrough struct {
	sup *supervisor.Supervisor
	sh  cli.Session
}

// start brings a fresh supervisor up in the given enforcement mode, stopped when the container ends.
func start(mode enforcement.Mode) *walkthrough {
	GinkgoHelper()
	root := testenv.RepoRoot()
	sup, err := supervisor.Start(ctx, supervisor.Config{
		RepoRoot: root, StateDir: GinkgoT().TempDir(), APIServerPort: testenv.FreePort(), VCenterPort: testenv.FreePort(), MetricsPort: testenv.FreePort(),
		Enforcement: mode, Log: GinkgoLogr,
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(sup.Stop()).To(Succeed()) })
	return &walkthrough{sup: sup, sh: cli.Session{
		Kubeconfig: sup.Paths().Kubeconfig, GovcEnv: sup.Paths().GovcEnv, GovcBin: filepath.Join(root, "bin", "govc"),
	}}
}

func (w *walkthrough) kubectl(args ...string) string {
	GinkgoHelper()
	out, err := w.sh.Kubectl(ctx, args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)
	return out
}

func (w *walkthrough) govc(commandLine string) string {
	GinkgoHelper()
	out, err := w.sh.Govc(ctx, commandLine)
	Expect(err).NotTo(HaveOccurred(), "%s: %s", commandLine, out)
	return out
}

// prepare replays steps 2 to 4: new-namespace with every stock class, cormac-new-ns with only
// guaranteed-large, and kubectl switched to cormac-new-ns.
func (w *walkthrough) prepare() {
	GinkgoHelper()
	w.govc("govc namespace.create -cluster $SUPERVISOR_CLUSTER new-namespace")
	w.govc("govc namespace.update " + vmclassFlags(stockClasses...) + " new-namespace")
	w.govc("govc namespace.create -cluster $SUPERVISOR_CLUSTER cormac-new-ns")
	w.govc("govc namespace.update -vmclass guaranteed-large cormac-new-ns")
	Eventually(func() string { out, _ := w.sh.Kubectl(ctx, "config", "use-context", "cormac-new-ns"); return out }).
		Should(Equal("Switched to context \"cormac-new-ns\".\n"))
	Eventually(func() [][]string { return cli.Table(w.kubectl("get", "virtualmachineclasses")) }).Should(HaveLen(17))
	Eventually(func() [][]string {
		var rows [][]string
		for _, r := range cli.Table(w.kubectl("get", "virtualmachineclassbindings")) {
			rows = append(rows, r[:2]) // NAME and VIRTUALMACHINECLASS; AGE moves on
		}
		return rows
	}).Should(Equal([][]string{{"NAME", "VIRTUALMACHINECLASS"}, {"guaranteed-large", "guaranteed-large"}}))
}

var stockClasses = []string{
	"best-effort-2xlarge", "best-effort-4xlarge", "best-effort-8xlarge", "best-effort-large",
	"best-effort-medium", "best-effort-small", "best-effort-xlarge", "best-effort-xsmall",
	"guaranteed-2xlarge", "guaranteed-4xlarge", "guaranteed-8xlarge", "guaranteed-large",
	"guaranteed-medium", "guaranteed-small", "guaranteed-xlarge", "guaranteed-xsmall",
}

func vmclassFlags(classes ...string) string {
	return "-vmclass " + strings.Join(classes, " -vmclass ")
}

var _ = Describe("The walkthrough in Deny mode (the default)", Ordered, func() {
	var w *walkthrough
	BeforeAll(func() {
		w = start(enforcement.Deny)
		w.prepare()
	})

	It("step 5: refuses the cluster at kubectl apply, naming both classes, the namespace and what is bound", func() {
		out, err := w.sh.Kubectl(ctx, "apply", "-f", manifest)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring(`The TanzuKubernetesCluster "tkg-cluster-1-20-2" is invalid`))
		Expect(out).To(ContainSubstring(`spec.topology.controlPlane.class: Invalid value: "guaranteed-medium": VirtualMachineClass "guaranteed-medium" is not bound in namespace "cormac-new-ns" (bound here: guaranteed-large)`))
		Expect(out).To(ContainSubstring(`spec.topology.workers.class: Invalid value: "best-effort-medium": VirtualMachineClass "best-effort-medium" is not bound in namespace "cormac-new-ns" (bound here: guaranteed-large)`))
		Expect(w.kubectl("get", "tanzukubernetescluster")).To(Equal("No resources found in cormac-new-ns namespace.\n"))
	})

	It("step 6: admits it once the admin assigns both classes, and it runs", func() {
		w.govc("govc namespace.update " + vmclassFlags("guaranteed-large", "guaranteed-medium", "best-effort-medium") + " cormac-new-ns")
		Eventually(func() error { _, err := w.sh.Kubectl(ctx, "apply", "-f", manifest); return err }).Should(Succeed())
		Eventually(func() string { return tkcPhase(w) }).Should(Equal("running"), w.machines)
	})
})

var _ = Describe("The walkthrough in Warn mode (as vSphere 7.0U2a)", Ordered, func() {
	var (
		w   *walkthrough
		uid string
	)
	BeforeAll(func() {
		w = start(enforcement.Warn)
		w.prepare()
	})

	It("step 5: admits the cluster with warnings, then fails it with the walkthrough's status", func() {
		out := w.kubectl("apply", "-f", manifest)
		Expect(out).To(ContainSubstring(`Warning: spec.topology.controlPlane.class: Invalid value: "guaranteed-medium"`))
		Expect(out).To(ContainSubstring(`Warning: spec.topology.workers.class: Invalid value: "best-effort-medium"`))
		Expect(out).To(ContainSubstring("tanzukubernetescluster.run.tanzu.vmware.com/tkg-cluster-1-20-2 created"))

		Eventually(func() string { return tkcPhase(w) }).Should(Equal("failed"), w.machines)
		lines := strings.Split(strings.TrimSpace(w.kubectl("get", "TanzuKubernetesCluster")), "\n")
		Expect(cli.Columns(lines[0])).To(Equal([]string{"NAME", "CONTROL PLANE", "WORKER", "DISTRIBUTION", "AGE", "PHASE", "TKR COMPATIBLE", "UPDATES AVAILABLE"}))
		row := cli.Columns(lines[1])
		Expect(row).To(HaveLen(7), "UPDATES AVAILABLE is empty: %q", lines[1])
		Expect([]string{row[0], row[1], row[2], row[3], row[5], row[6]}).To(Equal([]string{
			"tkg-cluster-1-20-2", "3", "5", "v1.20.2+vmware.1-tkg.2.3e10706", "failed", "True"}))

		describe := w.kubectl("describe", "TanzuKubernetesCluster")
		for _, want := range []string{
			"Reason:                VirtualMachineClassBindingNotFound @ Machine/tkg-cluster-1-20-2-control-plane-",
			"Severity:              Error",
			"Type:                  ControlPlaneReady",
			"Message:               0/3 Control Plane Node(s) healthy. 0/5 Worker Node(s) healthy",
			"Reason:                WaitingForNodesHealthy",
			"Type:                  NodesHealthy",
			"Type:                  TanzuKubernetesReleaseCompatible",
			"Reason:                NoUpdates",
			"Type:                  UpdatesAvailable",
			"run.tanzu.vmware.com/tkr=v1.20.2---vmware.1-tkg.2.3e10706",
			"vmware-system-tkg/vmware-system-tkg-controller-manager/tanzukubernetescluster-status-controller",
			"PhaseChanged",
			"cluster changes from creating phase to failed phase",
		} {
			Expect(strings.Contains(describe, want)).To(BeTrue(), "kubectl describe lacks %q; it printed:\n%s", want, describe)
		}
		Expect(describe).To(MatchRegexp(`\n\s+Phase:\s+failed\n`))
		Expect(describe).To(MatchRegexp(`tkg-cluster-1-20-2-workers-[a-z0-9]{5}-[a-z0-9]+-[a-z0-9]{5}:\s+pending`))
		Expect(regexp.MustCompile(`:\s+pending\n`).FindAllString(describe, -1)).To(HaveLen(16),
			"node and VM status: pending for each of the 8 machines")
		uid = w.kubectl("get", "tkc", "tkg-cluster-1-20-2", "-o", "jsonpath={.metadata.uid}")
	})

	It("step 6: recovers by itself to running once the admin assigns both classes, with no edit or re-creation", func() {
		began := time.Now()
		w.govc("govc namespace.update " + vmclassFlags("guaranteed-large", "guaranteed-medium", "best-effort-medium") + " cormac-new-ns")
		Eventually(func() [][]string { return cli.Table(w.kubectl("get", "virtualmachineclassbindings")) }).Should(HaveLen(4))
		Eventually(func() string { return tkcPhase(w) }).Should(Equal("running"), w.machines)
		AddReportEntry("binding to running", time.Since(began).Round(10*time.Millisecond).String())
		GinkgoWriter.Printf("from assigning the classes in vCenter to running: %s\n", time.Since(began).Round(10*time.Millisecond))

		Expect(w.kubectl("get", "tkc", "tkg-cluster-1-20-2", "-o", "jsonpath={.metadata.uid}")).To(Equal(uid), "the same cluster, not a new one")
		Expect(w.kubectl("describe", "tkc", "tkg-cluster-1-20-2")).To(ContainSubstring("cluster changes from failed phase to creating phase"))
		vms := cli.Table(w.govc("govc find /DC0/vm/cormac-new-ns/tkg-cluster-1-20-2 -type m -runtime.powerState poweredOn"))
		Expect(vms).To(HaveLen(8), "three control plane and five worker VMs, powered on in vCenter, in the cluster's folder")

		By("serving the cluster's API at the address the load balancer gave its control plane service")
		Eventually(func() []string {
			return cli.Columns(strings.Split(strings.TrimSpace(w.kubectl("get", "vmservice", "tkg-cluster-1-20-2-control-plane")), "\n")[1])
		}).Should(HaveExactElements("tkg-cluster-1-20-2-control-plane", "LoadBalancer", Not(BeEmpty()), MatchRegexp(`^127\.`), "6443", Not(BeEmpty())))
		external := cli.Columns(strings.Split(strings.TrimSpace(w.kubectl("get", "vmservice", "tkg-cluster-1-20-2-control-plane")), "\n")[1])[3]
		Eventually(func() string {
			return w.kubectl("get", "tkc", "tkg-cluster-1-20-2", "-o", "jsonpath={.status.apiEndpoints[0].host}:{.status.apiEndpoints[0].port}")
		}).Should(Equal(external + ":6443"))
	})

	It("lists a newer release the admin publishes as the cluster's update", func() {
		w.govc("govc library.import " + supervisor.ContentLibrary + " " + filepath.Join(w.sup.Paths().Releases, supervisor.NewerRelease().Name+".ovf"))
		Eventually(func() []string {
			return cli.Columns(strings.Split(strings.TrimSpace(w.kubectl("get", "tkc", "tkg-cluster-1-20-2")), "\n")[1])
		}).Should(HaveExactElements("tkg-cluster-1-20-2", "3", "5", "v1.20.2+vmware.1-tkg.2.3e10706", Not(BeEmpty()), "running", "True",
			"[v1.21.6+vmware.1-tkg.1.b3d708a]"))
		Expect(w.kubectl("describe", "tkc", "tkg-cluster-1-20-2")).To(ContainSubstring("Message:               [v1.21.6+vmware.1-tkg.1.b3d708a]"))
	})

	It("deletes every VM, in Kubernetes and in vCenter, with the cluster", func() {
		w.kubectl("delete", "tkc", "tkg-cluster-1-20-2", "--wait=true", "--timeout=60s")
		Expect(w.kubectl("get", "virtualmachines")).To(Equal("No resources found in cormac-new-ns namespace.\n"))
		Expect(strings.TrimSpace(w.govc("govc find /DC0/vm/cormac-new-ns -type m"))).To(BeEmpty())
	})
})

// tkcPhase is the PHASE cell of the cluster's `kubectl get tkc` row, or "" while there is none.
func tkcPhase(w *walkthrough) string {
	out, err := w.sh.Kubectl(ctx, "get", "tkc", "tkg-cluster-1-20-2", "--no-headers")
	if row := cli.Columns(strings.TrimSpace(out)); err == nil && len(row) > 5 {
		return row[5]
	}
	return ""
}

// machines is a line per VM of the namespace with its phase, power, address and every condition
// that is not True, so a cluster that never reaches its phase says which machine holds it back.
func (w *walkthrough) machines() string {
	out, err := w.sh.Kubectl(ctx, "get", "virtualmachines", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.status.powerState} ip={.status.vmIp}`+
			`{range .status.conditions[?(@.status!="True")]} {.type}={.reason}: {.message}{end}{"\n"}{end}`)
	if err != nil {
		return "kubectl get virtualmachines: " + err.Error()
	}
	return "virtual machines when it gave up:\n" + out
}
