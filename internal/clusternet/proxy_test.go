package clusternet_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/internal/clusternet"
)

func TestClusternet(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "clusternet suite")
}

var _ = Describe("The cluster network stand-in", func() {
	var (
		echo  net.Listener
		proxy *clusternet.Proxy
	)

	BeforeEach(func() {
		var err error
		echo, err = net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(echo.Close)
		go func() {
			for {
				conn, err := echo.Accept()
				if err != nil {
					return
				}
				go func() { defer conn.Close(); _, _ = io.Copy(conn, conn) }()
			}
		}()
		proxy, err = clusternet.Start(map[string]string{"192.0.2.10:9443": echo.Addr().String()})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Stop)
	})

	It("connects an endpoint it knows to its loopback address", func() {
		conn, status := connect(proxy, "192.0.2.10:9443")
		defer conn.Close()
		Expect(status).To(Equal(http.StatusOK))
		_, err := io.WriteString(conn, "ping\n")
		Expect(err).NotTo(HaveOccurred())
		Expect(bufio.NewReader(conn).ReadString('\n')).To(Equal("ping\n"))
	})

	It("refuses every other target, so nothing leaves the machine", func() {
		conn, status := connect(proxy, "10.0.0.1:443")
		defer conn.Close()
		Expect(status).To(Equal(http.StatusServiceUnavailable))
	})

	It("takes only loopback targets", func() {
		_, err := clusternet.Start(map[string]string{"192.0.2.10:9443": "192.0.2.11:9443"})
		Expect(err).To(MatchError(ContainSubstring("must be a loopback host:port")))
	})

	It("names its socket in the apiserver's egress configuration", func() {
		Expect(string(proxy.EgressSelectorConfiguration())).To(MatchRegexp(`(?s)name: cluster.*proxyProtocol: HTTPConnect.*udsName: /\S+/egress.sock`))
	})
})

// connect sends CONNECT target through the proxy's socket and returns the connection and the status.
func connect(proxy *clusternet.Proxy, target string) (net.Conn, int) {
	GinkgoHelper()
	socket := regexp.MustCompile(`udsName: (\S+)`).FindSubmatch(proxy.EgressSelectorConfiguration())[1]
	conn, err := net.Dial("unix", string(socket))
	Expect(err).NotTo(HaveOccurred())
	_, err = fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodConnect})
	Expect(err).NotTo(HaveOccurred())
	return conn, resp.StatusCode
}
