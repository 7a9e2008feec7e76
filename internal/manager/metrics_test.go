package manager_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/test/testenv"
)

// A metric of the product's own, registered whether or not vCenter is configured.
const productMetric = "vmservice_vcenter_sync_last_success_timestamp_seconds"

var _ = Describe("The metrics endpoint", Ordered, func() {
	var url, namespace string

	BeforeAll(func() {
		addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort())
		url = "https://" + addr + "/metrics"
		env.ManagerForSuite(manager.Options{MetricsAddr: addr})
		namespace = env.NewNamespaceWithoutStorage("metrics")
		Expect(env.Client.Create(ctx, metricsReaderRole())).To(Succeed())
	})

	It("refuses a request without a token", func() {
		Eventually(scrape).WithArguments(url, "").Should(HaveField("Code", http.StatusUnauthorized))
	})

	It("refuses a service account not granted the metrics-reader role", func() {
		token := serviceAccountToken(namespace, "no-metrics")
		Eventually(scrape).WithArguments(url, token).Should(HaveField("Code", http.StatusForbidden))
	})

	It("serves the product's metrics to a service account granted the metrics-reader role", func() {
		token := serviceAccountToken(namespace, "scraper")
		Expect(env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "scraper-" + namespace},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: metricsReaderRole().Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: "scraper"}},
		})).To(Succeed())
		// The endpoint caches a denial for 30 seconds; this account was never denied.
		Eventually(scrape).WithArguments(url, token).Should(And(
			HaveField("Code", http.StatusOK), HaveField("Body", ContainSubstring(productMetric))))
	})
})

// scraped is what a GET of the metrics endpoint answered.
type scraped struct {
	Code int
	Body string
}

// scrape GETs url over HTTPS (the certificate is self-signed), with token as bearer when set.
func scrape(url, token string) (scraped, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return scraped{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test certificate
	resp, err := c.Do(req)
	if err != nil {
		return scraped{}, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return scraped{Code: resp.StatusCode, Body: string(body)}, err
}

// serviceAccountToken creates a service account and returns a token the apiserver issued it.
func serviceAccountToken(namespace, name string) string {
	GinkgoHelper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	Expect(env.Client.Create(ctx, sa)).To(Succeed())
	tr := &authenticationv1.TokenRequest{}
	Expect(env.Client.SubResource("token").Create(ctx, sa, tr)).To(Succeed())
	Expect(tr.Status.Token).NotTo(BeEmpty())
	return tr.Status.Token
}

// metricsReaderRole is config/rbac/metrics_reader_role.yaml.
func metricsReaderRole() *rbacv1.ClusterRole {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "metrics_reader_role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(data, role)).To(Succeed())
	return role
}
