package supervisor_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/vm-service/vm-service/internal/supervisor"
	"github.com/vm-service/vm-service/test/cli"
	"github.com/vm-service/vm-service/test/testenv"
)

// The local supervisor suite starts the supervisor in-process on free ports and a temporary
// state directory, and replays walkthrough steps 1-4 as its users would: the real kubectl with
// the kubeconfig it writes, and the real govc with the environment file it writes.
func TestSupervisor(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "local supervisor suite")
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(GinkgoLogr)
})

// stockClasses are the walkthrough's step 3 table: CPU and MEMORY columns by class name.
var stockClasses = map[string][2]string{
	"best-effort-2xlarge": {"8", "64Gi"}, "best-effort-4xlarge": {"16", "128Gi"},
	"best-effort-8xlarge": {"32", "128Gi"}, "best-effort-large": {"4", "16Gi"},
	"best-effort-medium": {"2", "8Gi"}, "best-effort-small": {"2", "4Gi"},
	"best-effort-xlarge": {"4", "32Gi"}, "best-effort-xsmall": {"2", "2Gi"},
	"guaranteed-2xlarge": {"8", "64Gi"}, "guaranteed-4xlarge": {"16", "128Gi"},
	"guaranteed-8xlarge": {"32", "128Gi"}, "guaranteed-large": {"4", "16Gi"},
	"guaranteed-medium": {"2", "8Gi"}, "guaranteed-small": {"2", "4Gi"},
	"guaranteed-xlarge": {"4", "32Gi"}, "guaranteed-xsmall": {"2", "2Gi"},
}

var _ = Describe("The local supervisor", Ordered, func() {
	var (
		ctx  = context.Background()
		cfg  supervisor.Config
		sup  *supervisor.Supervisor
		govc string
	)

	// user is a shell with the supervisor's kubeconfig and govc environment, as in the README.
	user := func() cli.Session {
		return cli.Session{Kubeconfig: sup.Paths().Kubeconfig, GovcEnv: sup.Paths().GovcEnv, GovcBin: govc}
	}
	mustKubectl := func(args ...string) string {
		GinkgoHelper()
		out, err := user().Kubectl(ctx, args...)
		Expect(err).NotTo(HaveOccurred(), "kubectl %v: %s", args, out)
		return out
	}
	// adminGovc runs a govc command line as the walkthrough's admin does in vCenter.
	adminGovc := func(commandLine string) {
		GinkgoHelper()
		out, err := user().Govc(ctx, commandLine)
		Expect(err).NotTo(HaveOccurred(), "%s: %s", commandLine, out)
	}
	createNamespace := func(name string) {
		GinkgoHelper()
		adminGovc("govc namespace.create -cluster $SUPERVISOR_CLUSTER " + name)
	}
	assignClasses := func(ns string, classes ...string) {
		GinkgoHelper()
		adminGovc("govc namespace.update -vmclass " + strings.Join(classes, " -vmclass ") + " " + ns)
	}
	// contexts returns `kubectl config get-contexts` as rows of fields, CURRENT's "*" included.
	contexts := func() map[string][]string {
		GinkgoHelper()
		rows := map[string][]string{}
		for _, f := range cli.Table(mustKubectl("config", "get-contexts"))[1:] {
			name := f[0]
			if name == "*" {
				name = f[1]
			}
			rows[name] = f
		}
		return rows
	}

	BeforeAll(func() {
		_, err := exec.LookPath("kubectl")
		Expect(err).NotTo(HaveOccurred(), "these specs need kubectl on PATH")
		root := testenv.RepoRoot()
		govc = filepath.Join(root, "bin", "govc")
		Expect(govc).To(BeAnExistingFile(), "run 'make tools' to build bin/govc")
		cfg = supervisor.Config{
			RepoRoot:      root,
			StateDir:      GinkgoT().TempDir(),
			APIServerPort: testenv.FreePort(),
			VCenterPort:   testenv.FreePort(),
			MetricsPort:   testenv.FreePort(),
			Log:           GinkgoLogr,
		}
		sup, err = supervisor.Start(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(sup.Stop()).To(Succeed()) })
		Expect(sup.Paths().Ready).To(BeAnExistingFile())
	})

	It("step 1: shows only the admin context and no classes", func() {
		host := "127.0.0.1"
		Expect(cli.Table(mustKubectl("config", "get-contexts"))).To(Equal([][]string{
			{"CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"},
			{"*", host, host, "wcp:" + host + ":administrator@vsphere.local"},
		}))
		Expect(mustKubectl("get", "virtualmachineclasses")).To(Equal("No resources found\n"))
	})

	It("step 2: gives a namespace created in vCenter a context, still with no classes or bindings", func() {
		createNamespace("new-namespace")
		Eventually(contexts).WithTimeout(20 * time.Second).Should(HaveKeyWithValue("new-namespace",
			[]string{"new-namespace", "127.0.0.1", "wcp:127.0.0.1:administrator@vsphere.local", "new-namespace"}))
		Expect(mustKubectl("config", "use-context", "new-namespace")).To(Equal("Switched to context \"new-namespace\".\n"))
		Expect(mustKubectl("get", "virtualmachineclasses")).To(Equal("No resources found\n"))
		Expect(mustKubectl("get", "virtualmachineclassbindings")).To(Equal("No resources found in new-namespace namespace.\n"))
		Expect(mustKubectl("get", "virtualmachineclassbindings", "-n", "new-namespace")).To(Equal("No resources found in new-namespace namespace.\n"))
	})

	It("step 3: lists the 16 stock classes and their bindings once all are assigned in vCenter", func() {
		all := make([]string, 0, len(stockClasses))
		for name := range stockClasses {
			all = append(all, name)
		}
		assignClasses("new-namespace", all...)
		Eventually(func() int { return len(cli.Table(mustKubectl("get", "virtualmachineclasses"))) }).
			WithTimeout(20 * time.Second).Should(Equal(17))

		rows := cli.Table(mustKubectl("get", "virtualmachineclasses"))
		Expect(rows[0]).To(Equal([]string{"NAME", "CPU", "MEMORY", "AGE"}))
		got := map[string][2]string{}
		for _, r := range rows[1:] {
			Expect(r).To(HaveLen(4), "row %v", r)
			got[r[0]] = [2]string{r[1], r[2]}
		}
		Expect(got).To(Equal(stockClasses))

		Eventually(func() int { return len(cli.Table(mustKubectl("get", "virtualmachineclassbindings"))) }).
			WithTimeout(20 * time.Second).Should(Equal(17))
		bindings := cli.Table(mustKubectl("get", "virtualmachineclassbindings"))
		Expect(bindings[0]).To(Equal([]string{"NAME", "VIRTUALMACHINECLASS", "AGE"}))
		for _, r := range bindings[1:] {
			Expect(stockClasses).To(HaveKey(r[0]))
			Expect(r[1]).To(Equal(r[0]))
		}
	})

	It("step 4: a second namespace sees every class but may use only what is assigned to it", func() {
		createNamespace("cormac-new-ns")
		Eventually(contexts).WithTimeout(20 * time.Second).Should(HaveKey("cormac-new-ns"))
		Expect(mustKubectl("config", "use-context", "cormac-new-ns")).To(Equal("Switched to context \"cormac-new-ns\".\n"))
		Expect(cli.Table(mustKubectl("get", "virtualmachineclasses"))).To(HaveLen(17))
		Expect(mustKubectl("get", "virtualmachineclassbindings")).To(Equal("No resources found in cormac-new-ns namespace.\n"))

		assignClasses("cormac-new-ns", "guaranteed-large")
		Eventually(func() [][]string { return cli.Table(mustKubectl("get", "virtualmachineclassbindings")) }).
			WithTimeout(20 * time.Second).Should(HaveLen(2))
		rows := cli.Table(mustKubectl("get", "virtualmachineclassbindings"))
		Expect(rows[0]).To(Equal([]string{"NAME", "VIRTUALMACHINECLASS", "AGE"}))
		Expect(rows[1][:2]).To(Equal([]string{"guaranteed-large", "guaranteed-large"}))
	})

	It("keeps the user's current context when namespaces come and go", func() {
		createNamespace("later-ns")
		Eventually(contexts).WithTimeout(20 * time.Second).Should(HaveKey("later-ns"))
		Expect(mustKubectl("config", "current-context")).To(Equal("cormac-new-ns\n"))
	})

	It("lets the developer read classes and bindings but not create bindings", func() {
		dev := "--context=devops@cormac-new-ns"
		Expect(contexts()).To(HaveKeyWithValue("devops@cormac-new-ns",
			[]string{"devops@cormac-new-ns", "127.0.0.1", "wcp:127.0.0.1:devops@vsphere.local", "cormac-new-ns"}))
		Expect(cli.Table(mustKubectl(dev, "get", "virtualmachineclasses"))).To(HaveLen(17))
		Expect(cli.Table(mustKubectl(dev, "get", "virtualmachineclassbindings"))).To(HaveLen(2))

		out, err := user().KubectlIn(ctx, `{"apiVersion": "vmoperator.vmware.com/v1alpha1", "kind": "VirtualMachineClassBinding",
			"metadata": {"name": "guaranteed-small"}, "classRef": {"kind": "VirtualMachineClass", "name": "guaranteed-small"}}`,
			dev, "create", "-f", "-")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("Error from server (Forbidden)"))
		Expect(out).To(ContainSubstring(`User "devops@vsphere.local" cannot create resource "virtualmachineclassbindings"`))
	})

	It("runs the README's VirtualMachine with cloud-init data, two NICs and a disk, applied by the developer, and govc shows it", func() {
		sample := filepath.Join(testenv.RepoRoot(), "config", "samples", "vmoperator_v1alpha1_virtualmachine_cloudinit.yaml")
		mustKubectl("--context=devops@cormac-new-ns", "apply", "-f", sample)
		Eventually(func() string {
			return mustKubectl("--context=cormac-new-ns", "get", "vm", "web", "-o", "jsonpath={.status.powerState} {.status.vmIp}")
		}).WithTimeout(30*time.Second).Should(MatchRegexp(`^poweredOn 127\.0\.`), "powered on, with an address from the loopback pool")

		info, err := user().Govc(ctx, "govc vm.info -e -r web")
		Expect(err).NotTo(HaveOccurred(), info)
		Expect(info).To(ContainSubstring("guestinfo.userdata.encoding:  base64"))
		m := regexp.MustCompile(`guestinfo\.userdata:\s+(\S+)`).FindStringSubmatch(info)
		Expect(m).To(HaveLen(2), info)
		userData, err := base64.StdEncoding.DecodeString(m[1])
		Expect(err).NotTo(HaveOccurred())
		Expect(string(userData)).To(HavePrefix("#cloud-config\nusers:\n  - name: devops\n"))

		devices, err := user().Govc(ctx, "govc device.ls -vm web")
		Expect(err).NotTo(HaveOccurred(), devices)
		Expect(devices).To(MatchRegexp(`(?m)^ethernet-0\s+VirtualVmxnet3\s+VM Network$`))
		Expect(devices).To(MatchRegexp(`(?m)^ethernet-1\s+VirtualVmxnet3\s+DVSwitch: `), "on the distributed switch")
		Expect(devices).To(MatchRegexp(`(?m)^disk-\S+\s+VirtualDisk\s+10,485,760 KB`))
	})

	It("stops leaving no process or temporary directory behind, and starts again clean", func() {
		children := controlPlaneChildren()
		Expect(children).To(HaveLen(2), "etcd and kube-apiserver should be children of this process")
		var dataDirs []string
		for _, p := range children {
			dataDirs = append(dataDirs, p.dirs...)
		}
		Expect(dataDirs).NotTo(BeEmpty())
		password := govcPassword(sup)

		Expect(sup.Stop()).To(Succeed())
		Expect(sup.Paths().Ready).NotTo(BeAnExistingFile())
		Expect(controlPlaneChildren()).To(BeEmpty())
		for _, p := range children {
			Expect(filepath.Join("/proc", strconv.Itoa(p.pid))).NotTo(BeAnExistingFile(), "%s (pid %d) still runs", p.name, p.pid)
		}
		for _, d := range dataDirs {
			Expect(d).NotTo(BeADirectory(), "temporary directory left behind")
		}

		var err error
		sup, err = supervisor.Start(ctx, cfg) // stopped by BeforeAll's cleanup
		Expect(err).NotTo(HaveOccurred())
		Expect(sup.Paths().Ready).To(BeAnExistingFile())
		// A clean start: vCenter has no namespaces again, so only the admin context is left.
		Consistently(contexts).WithTimeout(3 * time.Second).Should(HaveLen(1))
		Expect(mustKubectl("get", "virtualmachineclasses")).To(Equal("No resources found\n"))
		Expect(govcPassword(sup)).NotTo(Or(Equal(password), Equal("pass")), "a clean start draws a new vCenter password")
		adminGovc("govc about")
	})
})

// govcPassword is the GOVC_PASSWORD that the supervisor's govc.env exports.
func govcPassword(sup *supervisor.Supervisor) string {
	GinkgoHelper()
	password, err := cli.GovcPassword(sup.Paths().GovcEnv)
	Expect(err).NotTo(HaveOccurred())
	return password
}

var _ = Describe("Starting the local supervisor on a taken port", func() {
	It("says which port is taken and what to do, and starts nothing", func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		dir := GinkgoT().TempDir()

		_, err = supervisor.Start(context.Background(), supervisor.Config{
			RepoRoot: testenv.RepoRoot(), StateDir: dir, APIServerPort: port, VCenterPort: testenv.FreePort(), MetricsPort: testenv.FreePort(), Log: GinkgoLogr,
		})
		Expect(err).To(MatchError(ContainSubstring(fmt.Sprintf("port %d for the kube-apiserver is taken", port))))
		Expect(err).To(MatchError(ContainSubstring("--apiserver-port")))
		Expect(filepath.Join(dir, "ready")).NotTo(BeAnExistingFile())
	})
})

// child is an etcd or kube-apiserver process started by this test process.
type child struct {
	pid  int
	name string
	dirs []string // its --data-dir or --cert-dir, which envtest made and must remove
}

// controlPlaneChildren lists this process's etcd and kube-apiserver children from /proc.
func controlPlaneChildren() []child {
	GinkgoHelper()
	entries, err := os.ReadDir("/proc")
	Expect(err).NotTo(HaveOccurred())
	var found []child
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after its closing paren.
		i := bytes.LastIndexByte(stat, ')')
		fields := strings.Fields(string(stat[i+1:]))
		comm := string(stat[bytes.IndexByte(stat, '(')+1 : i])
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) || (comm != "etcd" && comm != "kube-apiserver") {
			continue
		}
		c := child{pid: pid, name: comm}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			for _, flag := range []string{"--data-dir=", "--cert-dir="} {
				if d, ok := strings.CutPrefix(arg, flag); ok {
					c.dirs = append(c.dirs, d)
				}
			}
		}
		found = append(found, c)
	}
	return found
}
