package reliability_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/supervisor"
	"github.com/vm-service/vm-service/test/cli"
	"github.com/vm-service/vm-service/test/testenv"
)

// lineRecorder keeps every log line this process writes.
type lineRecorder struct {
	mu    sync.Mutex
	lines []string
}

var recordedLog = &lineRecorder{}

// logger logs into the recorder at every verbosity: what the manager would print at its most
// verbose level.
func (r *lineRecorder) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.lines = append(r.lines, prefix+" "+args)
	}, funcr.Options{Verbosity: 1 << 20})
}

// since returns the lines recorded after the first n.
func (r *lineRecorder) since(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines[n:]...)
}

func (r *lineRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lines)
}

var _ = Describe("R6: secrets", Label("reliability"), func() {
	It("never shows the vCenter password or a guest-data Secret in a log line, event, condition, status or file of a walkthrough with a cloud-init VM", func() {
		firstLine := recordedLog.count()
		root := testenv.RepoRoot()
		state := GinkgoT().TempDir()
		// Warn mode goes through more of the product than Deny: the cluster is admitted, fails,
		// then recovers.
		sup, err := supervisor.Start(ctx, supervisor.Config{
			RepoRoot: root, StateDir: state, APIServerPort: testenv.FreePort(), VCenterPort: testenv.FreePort(), MetricsPort: testenv.FreePort(),
			Enforcement: enforcement.Warn, Log: recordedLog.logger().WithName("local-supervisor"),
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(sup.Stop()).To(Succeed()) })
		r := &replay{sh: cli.Session{Kubeconfig: sup.Paths().Kubeconfig, GovcEnv: sup.Paths().GovcEnv, GovcBin: filepath.Join(root, "bin", "govc")}}

		password := govcPassword(sup)
		Expect(len(password)).To(BeNumerically(">=", 16), "a password too short to search for")
		marker := "guest-data-marker-" + randomHex()

		r.walkthrough()
		r.cloudInitVM(marker)

		// Kubernetes' view of everything, as the admin sees it.
		events := r.kubectl("get", "events", "-A", "-o", "json")
		objects := r.kubectl("get", "virtualmachines,tanzukubernetesclusters,virtualmachineclasses,virtualmachineclassbindings,virtualmachineimages,tanzukubernetesreleases", "-A", "-o", "json")
		// Not kept with what kubectl printed: the Secret is where the marker belongs.
		secret, err := r.sh.Kubectl(ctx, "get", "secret", "-n", "cormac-new-ns", "web-user-data", "-o", "yaml")
		Expect(err).NotTo(HaveOccurred(), secret)
		Expect(sup.Stop()).To(Succeed()) // every log line is written before the search
		logLines := recordedLog.since(firstLine)
		fileLines := filesExceptCredentials(state, sup.Paths())

		outputs := strings.Join([]string{strings.Join(logLines, "\n"), strings.Join(fileLines, "\n"), events, objects, strings.Join(r.printed, "\n")}, "\n")
		// client-go logs a binary body (a protobuf Secret) as a hex dump, 16 bytes a row.
		outputs += "\n" + undumped(outputs)
		found := map[string]int{}
		for what, needles := range map[string][]string{
			"the vCenter password":  append([]string{password}, base64Forms(password)...),
			"the guest-data marker": append([]string{marker}, base64Forms(marker)...),
		} {
			for _, n := range needles {
				found[what] += strings.Count(outputs, n)
			}
		}
		Expect(found).To(Equal(map[string]int{"the vCenter password": 0, "the guest-data marker": 0}))
		// Controls: the manager's logs were recorded, and the search finds the marker where it
		// belongs, in the Secret.
		Expect(logLines).To(ContainElement(ContainSubstring(`"VirtualMachine"={"name"="web" "namespace"="cormac-new-ns"}`)))
		Expect(containsAny(secret, base64Forms(marker))).To(BeTrue(), secret)
		reportFigure("R6 secrets: 0 occurrences of the vCenter password or the guest-data marker (plain or base64) in %d log lines, %d events, %d objects, %d lines of state files and %d lines kubectl printed",
			len(logLines), itemCount(events), itemCount(objects), len(fileLines), lineCount(r.printed))
	})
})

var _ = Describe("R6: secrets in a whole demo", Label("reliability"), func() {
	It("never shows a supervisor's vCenter password in what `make demo` prints, or a password or the cloud-init VM's user data in a log line (most verbose level), event, condition or status", func() {
		root := testenv.RepoRoot()
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(root, "bin", "local-supervisor"), "./cmd/local-supervisor")
		build.Dir = root
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		work := GinkgoT().TempDir()
		demo := exec.CommandContext(ctx, filepath.Join(root, "hack", "demo.sh"))
		demo.Dir = root
		demo.Env = append(os.Environ(), "DEMO_WORK="+work, "DEMO_SUPERVISOR_FLAGS=--zap-log-level=10",
			fmt.Sprintf("DEMO_APISERVER_PORT=%d", testenv.FreePort()), fmt.Sprintf("DEMO_VCENTER_PORT=%d", testenv.FreePort()),
			fmt.Sprintf("DEMO_METRICS_PORT=%d", testenv.FreePort()))
		printed, err := demo.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(printed))
		Expect(string(printed)).To(HaveSuffix("Done.\n"))

		// The sample's key is its user data: the demo prints it with the sample and in the VM's
		// ExtraConfig, which is where it belongs.
		const userData = "AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTheSample"
		Expect(containsAny(string(printed), base64Forms(userData))).To(BeTrue(), "the guest got the user data")
		var passwords []string
		var logLines, stateLines []string
		var recorded string
		// The supervisors the demo starts, by the name of their state directory.
		for _, mode := range []string{"Deny", "Warn", "service"} {
			paths := supervisor.PathsIn(filepath.Join(work, mode))
			password, err := cli.GovcPassword(paths.GovcEnv)
			Expect(err).NotTo(HaveOccurred())
			Expect(len(password)).To(BeNumerically(">=", 16), "a password too short to search for")
			passwords = append(passwords, password)
			log, err := os.ReadFile(filepath.Join(work, mode+".log"))
			Expect(err).NotTo(HaveOccurred())
			logLines = append(logLines, strings.Split(string(log), "\n")...)
			stateLines = append(stateLines, filesExceptCredentials(filepath.Join(work, mode), paths)...)
			for _, dump := range []string{"-events.json", "-objects.json"} {
				b, err := os.ReadFile(filepath.Join(work, mode+dump))
				Expect(err).NotTo(HaveOccurred())
				Expect(itemCount(string(b))).To(BeNumerically(">", 0), "%s%s", mode, dump)
				recorded += string(b) + "\n"
			}
		}
		Expect(slices.Compact(slices.Sorted(slices.Values(passwords)))).To(HaveLen(len(passwords)), "each clean start has a password of its own")
		Expect(strings.Join(logLines, "\n")).To(ContainSubstring(`"name":"web"`), "the manager's reconciles were logged")
		Expect(strings.Join(logLines, "\n")).To(ContainSubstring("DEBUG"), "the verbose lines were logged")

		logged := strings.Join(logLines, "\n") + "\n" + strings.Join(stateLines, "\n") + "\n" + recorded
		logged += "\n" + undumped(logged)
		found := map[string]int{"a vCenter password in the demo's output": 0, "a vCenter password in logs, events, objects or files": 0, "the user data in logs, events, objects or files": 0}
		for _, p := range passwords {
			for _, n := range append([]string{p}, base64Forms(p)...) {
				found["a vCenter password in the demo's output"] += strings.Count(string(printed), n)
				found["a vCenter password in logs, events, objects or files"] += strings.Count(logged, n)
			}
		}
		for _, n := range append([]string{userData}, base64Forms(userData)...) {
			found["the user data in logs, events, objects or files"] += strings.Count(logged, n)
		}
		Expect(found).To(HaveEach(0), "%v", found)
		reportFigure("R6 secrets, whole `make demo` (its three supervisors, most verbose logs): 0 occurrences of any vCenter password or the cloud-init user data (plain or base64) in %d log lines, %d lines of events and objects, %d lines of state files; 0 passwords in the %d lines the demo printed",
			len(logLines), strings.Count(recorded, "\n"), len(stateLines), strings.Count(string(printed), "\n"))
	})
})

// replay is the walkthrough's users at a shell, keeping everything kubectl printed.
type replay struct {
	sh      cli.Session
	printed []string
}

func (r *replay) kubectl(args ...string) string {
	GinkgoHelper()
	out, err := r.sh.Kubectl(ctx, args...)
	r.printed = append(r.printed, out)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)
	return out
}

func (r *replay) govc(commandLine string) string {
	GinkgoHelper()
	out, err := r.sh.Govc(ctx, commandLine)
	Expect(err).NotTo(HaveOccurred(), "%s: %s", commandLine, out)
	return out
}

// walkthrough replays walkthrough.md steps 2 to 6 in Warn mode: the cluster is admitted while
// its classes are unbound, fails, and runs once the admin assigns them.
func (r *replay) walkthrough() {
	GinkgoHelper()
	r.govc("govc namespace.create -cluster $SUPERVISOR_CLUSTER new-namespace")
	r.govc("govc namespace.update -vmclass best-effort-small -vmclass guaranteed-large new-namespace")
	r.govc("govc namespace.create -cluster $SUPERVISOR_CLUSTER cormac-new-ns")
	r.govc("govc namespace.update -vmclass guaranteed-large cormac-new-ns")
	Eventually(func() error { _, err := r.sh.Kubectl(ctx, "config", "use-context", "cormac-new-ns"); return err }).Should(Succeed())
	Eventually(func() [][]string { return cli.Table(r.kubectl("get", "virtualmachineclassbindings")) }).Should(HaveLen(2))
	manifest := filepath.Join(testenv.RepoRoot(), "config", "samples", "run_v1alpha1_tanzukubernetescluster.yaml")
	r.kubectl("apply", "-f", manifest)
	Eventually(func() string { return r.kubectl("get", "tkc", "tkg-cluster-1-20-2", "-o", "jsonpath={.status.phase}") }).Should(Equal("failed"))
	r.kubectl("describe", "tkc", "tkg-cluster-1-20-2")
	r.govc("govc namespace.update -vmclass guaranteed-large -vmclass guaranteed-medium -vmclass best-effort-medium cormac-new-ns")
	Eventually(func() string { return r.kubectl("get", "tkc", "tkg-cluster-1-20-2", "-o", "jsonpath={.status.phase}") }).
		WithTimeout(2 * time.Minute).Should(Equal("running"))
	r.kubectl("describe", "tkc", "tkg-cluster-1-20-2")
}

// cloudInitVM applies the README's cloud-init VirtualMachine as the developer, with marker in
// its Secret's user data, and checks the marker reached the guest, so finding it nowhere else
// means something.
func (r *replay) cloudInitVM(marker string) {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", "vmoperator_v1alpha1_virtualmachine_cloudinit.yaml"))
	Expect(err).NotTo(HaveOccurred())
	const sampleKey = "AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTheSample"
	Expect(string(data)).To(ContainSubstring(sampleKey))
	out, err := r.sh.KubectlIn(ctx, strings.Replace(string(data), sampleKey, marker, 1), "--context=devops@cormac-new-ns", "apply", "-f", "-")
	r.printed = append(r.printed, out)
	Expect(err).NotTo(HaveOccurred(), out)
	Eventually(func() string {
		return r.kubectl("get", "vm", "web", "-o", "jsonpath={.status.powerState} {.status.vmIp}")
	}).
		Should(MatchRegexp(`^poweredOn 127\.`))
	r.kubectl("describe", "vm", "web")

	info := r.govc("govc vm.info -e -r web")
	m := regexp.MustCompile(`guestinfo\.userdata:\s+(\S+)`).FindStringSubmatch(info)
	Expect(m).To(HaveLen(2), info)
	userData, err := base64.StdEncoding.DecodeString(m[1])
	Expect(err).NotTo(HaveOccurred())
	Expect(string(userData)).To(ContainSubstring(marker), "the guest gets the Secret's user data, in vSphere's ExtraConfig, by design")
}

// filesExceptCredentials returns the lines of every file in the state directory (logs,
// kubeconfig, kubectl's cache) but the two whose purpose is to hold the vCenter password.
func filesExceptCredentials(dir string, paths supervisor.Paths) []string {
	GinkgoHelper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == paths.GovcEnv || p == paths.VCenterPassword {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines = append(lines, strings.Split(string(data), "\n")...)
		return nil
	})
	Expect(err).NotTo(HaveOccurred())
	return lines
}

// base64Forms are the parts of s's base64 encoding that do not depend on what surrounds s, for
// each of the three alignments s can have in a longer encoded value.
func base64Forms(s string) []string {
	var forms []string
	for pad := range 3 {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", pad) + s))
		forms = append(forms, enc[4:len(enc)-4])
	}
	return forms
}

// govcPassword is the GOVC_PASSWORD that the supervisor's govc.env exports.
func govcPassword(sup *supervisor.Supervisor) string {
	GinkgoHelper()
	password, err := cli.GovcPassword(sup.Paths().GovcEnv)
	Expect(err).NotTo(HaveOccurred())
	return password
}

// hexDumpRow is a row of an encoding/hex dump: offset, up to 16 bytes in hex, and their text.
var hexDumpRow = regexp.MustCompile(`(?m)^[0-9a-f]{8}  ((?:[0-9a-f]{2} {1,2})+) ?\|`)

// undumped is the bytes of every hex dump in s, each dump's rows joined again.
func undumped(s string) string {
	var b strings.Builder
	for _, row := range hexDumpRow.FindAllStringSubmatch(strings.ReplaceAll(s, `\n`, "\n"), -1) {
		data, err := hex.DecodeString(strings.Join(strings.Fields(row[1]), ""))
		Expect(err).NotTo(HaveOccurred())
		b.Write(data)
	}
	return b.String()
}

func containsAny(s string, needles []string) bool {
	for _, n := range needles {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}

func randomHex() string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	Expect(err).NotTo(HaveOccurred())
	return hex.EncodeToString(b)
}

// itemCount is the number of items of a `kubectl get -o json` list.
func itemCount(list string) int {
	var l struct{ Items []json.RawMessage }
	Expect(json.Unmarshal([]byte(list), &l)).To(Succeed())
	return len(l.Items)
}

func lineCount(outputs []string) int {
	n := 0
	for _, o := range outputs {
		n += strings.Count(o, "\n")
	}
	return n
}
