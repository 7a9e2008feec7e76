package reliability_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

// R2: the manager is killed with SIGKILL at random points while VMs provision, restarted each
// time, and vSphere must end up with exactly one powered-on VM per VirtualMachine.
var _ = Describe("The manager killed with SIGKILL while VMs provision", Ordered, Label("reliability"), func() {
	const (
		namespaces   = 20
		perNamespace = 10
		kills        = 10
	)
	var (
		f      *fleet
		binary string
	)

	BeforeAll(func() {
		var err error
		binary, err = gexec.Build("github.com/vm-service/vm-service/cmd/manager")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
		f = newFleet()
	})

	It("ends with one powered-on vSphere VM per VirtualMachine, no orphans and no shared addresses", func() {
		m := &managerProcess{f: f, binary: binary}
		DeferCleanup(m.kill)
		m.start()
		f.addNamespaces(namespaces)
		// Half the VMs are asked for before the kills start, and one more namespace's just before
		// each kill, so every kill lands on creations in progress.
		half := f.namespaces[:namespaces/2]
		f.createVMs(half, perNamespace)
		rest := f.namespaces[namespaces/2:]
		var inFlight []string
		for i := range kills {
			if i < len(rest) {
				f.createVMs(rest[i:i+1], perNamespace)
			}
			time.Sleep(time.Duration(500+rand.IntN(2500)) * time.Millisecond)
			inFlight = append(inFlight, strconv.Itoa(f.unprovisioned()))
			m.kill()
			m.start()
		}
		lastRestart := time.Now()

		Eventually(f.notRunning).WithTimeout(5 * time.Minute).WithPolling(time.Second).Should(Succeed())
		converged := time.Since(lastRestart)
		t := f.tally()
		reportFigure("R2 kill -9: %d VMs in %d namespaces, manager SIGKILLed %d times at random 0.5-3 s intervals (VirtualMachines not yet provisioned at each kill: %s): %s; converged %.1f s after the last restart",
			namespaces*perNamespace, namespaces, kills, strings.Join(inFlight, ","), t, converged.Seconds())
		Expect(t).To(Equal(tally{Objects: namespaces * perNamespace, VSphereVMs: namespaces * perNamespace}))
	})
})

// managerProcess runs cmd/manager as its own process against the fleet, as in a cluster, so it
// can be killed with SIGKILL.
type managerProcess struct {
	f      *fleet
	binary string
	// extra flags follow the defaults (a later flag wins).
	extra   []string
	session *gexec.Session
	starts  int
}

// start runs the manager and returns once it serves admission.
func (m *managerProcess) start() {
	GinkgoHelper()
	m.starts++
	Expect(os.MkdirAll(filepath.Dir(figuresFile()), 0o755)).To(Succeed())
	// Each run's log is kept beside the figures, for reading after a failure.
	logFile, err := os.Create(filepath.Join(filepath.Dir(figuresFile()), "manager-"+strconv.Itoa(m.starts)+".log"))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(logFile.Close)
	cmd := exec.Command(m.binary, m.flags()...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+m.kubeconfig())
	m.session, err = gexec.Start(cmd, logFile, logFile)
	Expect(err).NotTo(HaveOccurred())
}

// kill sends SIGKILL and waits for the process to be gone.
func (m *managerProcess) kill() {
	if m.session == nil {
		return
	}
	m.session.Kill()
	Eventually(m.session).WithTimeout(10 * time.Second).Should(gexec.Exit())
	m.session = nil
}

// flags point the manager at the simulator and at the webhook address the apiserver calls.
func (m *managerProcess) flags() []string {
	GinkgoHelper()
	vc := m.f.vcenterConfig(m.f.sim.URL().Host)
	wio := m.f.env.WebhookInstallOptions
	return append([]string{
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--webhook-host=" + wio.LocalServingHost, "--webhook-port=" + strconv.Itoa(wio.LocalServingPort),
		"--webhook-cert-dir=" + wio.LocalServingCertDir,
		"--class-binding-enforcement=Warn",
		"--vcenter-url=" + vc.URL, "--vcenter-credentials-dir=" + m.credentials(vc.Username, vc.Password),
		"--vcenter-insecure", "--supervisor-cluster=" + vc.Cluster, "--content-library=" + vc.ContentLibrary,
		"--vcenter-sync-interval=0", "--image-sync-interval=500ms", "--vm-ip-pool=" + ipPool,
		"--zap-log-level=info",
	}, m.extra...)
}

// credentials writes the files a mounted Secret would hold and returns their directory.
func (m *managerProcess) credentials(username, password string) string {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	Expect(os.WriteFile(filepath.Join(dir, "username"), []byte(username), 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "password"), []byte(password), 0o600)).To(Succeed())
	return dir
}

// kubeconfig is an administrator's (system:masters), as under the local supervisor, so the
// manager's own writes pass admission whichever user the webhooks expect.
func (m *managerProcess) kubeconfig() string {
	GinkgoHelper()
	u, err := m.f.env.NewUser(fmt.Sprintf("manager-%d", m.starts), "system:masters")
	Expect(err).NotTo(HaveOccurred())
	return u.Kubeconfig
}
