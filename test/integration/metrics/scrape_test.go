package metrics_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/vm-service/vm-service/test/testenv"
)

// scraper reads the metrics endpoint with the token of a service account granted the
// metrics-reader role of config/rbac, as a Prometheus in the cluster would.
type scraper struct {
	url, token string
}

func newScraper(url, namespace string) *scraper {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "metrics_reader_role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(data, role)).To(Succeed())
	Expect(env.Client.Create(ctx, role)).To(Succeed())
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "prometheus"}}
	Expect(env.Client.Create(ctx, sa)).To(Succeed())
	Expect(env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-" + namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: sa.Name}},
	})).To(Succeed())
	tr := &authenticationv1.TokenRequest{}
	Expect(env.Client.SubResource("token").Create(ctx, sa, tr)).To(Succeed())
	return &scraper{url: url, token: tr.Status.Token}
}

// families scrapes once and parses the text exposition.
func (s *scraper) families() (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "text/plain")
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the endpoint's certificate is self-signed
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// value returns the value of the series name{labels} (a counter, a gauge, or a histogram's
// sample count), 0 when the series is absent, and whether it was present.
func (s *scraper) value(name string, labels map[string]string) (float64, bool, error) {
	fams, err := s.families()
	if err != nil {
		return 0, false, err
	}
	f, ok := fams[name]
	if !ok {
		return 0, false, nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true, nil
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true, nil
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true, nil
		}
	}
	return 0, false, nil
}

// series is a function for Eventually: the current value of name{labels}.
func series(name string, labels map[string]string) func() (float64, error) {
	return func() (float64, error) {
		v, _, err := metrics.value(name, labels)
		return v, err
	}
}

// now reads name{labels} once, for a spec's starting point.
func now(name string, labels map[string]string) float64 {
	GinkgoHelper()
	v, err := series(name, labels)()
	Expect(err).NotTo(HaveOccurred())
	return v
}
