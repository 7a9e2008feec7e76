package main_test

import (
	"io"
	"net"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

func TestManagerCommand(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "manager command suite")
}

var _ = Describe("A manager missing its mounted Secrets", func() {
	It("waits, alive but not ready, naming what is missing and what to do, and stops cleanly", func() {
		binary, err := gexec.Build("github.com/vm-service/vm-service/cmd/manager")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		health := l.Addr().String()
		Expect(l.Close()).To(Succeed())

		empty := GinkgoT().TempDir()
		session, err := gexec.Start(exec.Command(binary, "--health-probe-bind-address="+health,
			"--vcenter-url=https://vcenter.invalid/sdk", "--vcenter-credentials-dir="+empty, "--webhook-cert-dir="+empty,
		), GinkgoWriter, GinkgoWriter)
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
		Expect(body).To(ContainSubstring("username and password missing in " + empty + "; mount a Secret with keys username and password at --vcenter-credentials-dir"))
		Expect(body).To(ContainSubstring("tls.crt and tls.key missing in " + empty))
		Eventually(session.Err).Should(gbytes.Say(`"msg":"waiting for files the manager needs"`))
		Expect(string(session.Err.Contents())).NotTo(ContainSubstring("stacktrace"))
		Consistently(session).WithTimeout(3*time.Second).ShouldNot(gexec.Exit(), "no crash loop")

		session.Signal(syscall.SIGTERM)
		Eventually(session).WithTimeout(10 * time.Second).Should(gexec.Exit(0))
	})
})
