package main_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/vm-service/vm-service/test/testenv"
)

func TestManagerCommand(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "manager command suite")
}

var _ = Describe("A manager missing what it needs to start", Ordered, func() {
	var binary string
	BeforeAll(func() {
		var err error
		binary, err = gexec.Build("github.com/vm-service/vm-service/cmd/manager")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
	})

	// waiting runs the manager with env and args, checks that it stays alive but not ready, its
	// readiness saying each of reasons, with one log line and no stack trace, and that SIGTERM
	// stops it cleanly.
	waiting := func(env, args []string, reasons ...string) {
		GinkgoHelper()
		health := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort()))
		cmd := exec.Command(binary, append(args, "--health-probe-bind-address="+health)...)
		cmd.Env = append(os.Environ(), env...)
		session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { session.Kill() })

		get := func(path string) (int, string) {
			c := http.Client{Timeout: 2 * time.Second}
			resp, err := c.Get("http://" + health + path)
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		Eventually(func() int { code, _ := get("/healthz"); return code }).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
		code, body := get("/readyz")
		Expect(code).To(Equal(http.StatusServiceUnavailable))
		for _, r := range reasons {
			Expect(body).To(ContainSubstring(r))
		}
		Eventually(session.Err).WithTimeout(10 * time.Second).Should(gbytes.Say(`"msg":"waiting for what the manager needs"`))
		Expect(string(session.Err.Contents())).NotTo(ContainSubstring("stacktrace"))
		Consistently(session).WithTimeout(3*time.Second).ShouldNot(gexec.Exit(), "no crash loop")

		session.Signal(syscall.SIGTERM)
		Eventually(session).WithTimeout(10 * time.Second).Should(gexec.Exit(0))
	}

	It("waits for its credentials and certificate mounts, naming the files and what to mount", func() {
		empty := GinkgoT().TempDir()
		waiting(nil, []string{"--vcenter-url=https://vcenter.invalid/sdk", "--vcenter-credentials-dir=" + empty, "--webhook-cert-dir=" + empty},
			"username and password missing in "+empty+"; mount a Secret with keys username and password at --vcenter-credentials-dir",
			"tls.crt and tls.key missing in "+empty)
	})

	It("waits for the rights to keep its certificate Secret, naming the Secret and the Role", func() {
		env, err := testenv.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(env.Stop)
		nobody, err := env.NewUser("nobody")
		Expect(err).NotTo(HaveOccurred())
		waiting([]string{"KUBECONFIG=" + nobody.Kubeconfig, "POD_NAMESPACE=default"},
			[]string{"--webhook-cert-secret=vm-service-webhook-certs", "--webhook-cert-dir=" + GinkgoT().TempDir()},
			"webhook certificate Secret default/vm-service-webhook-certs", "forbidden",
			"the manager needs get, create and update on it (config/rbac/webhook_certs_role.yaml)")
	})
})
