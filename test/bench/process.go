package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/vm-service/vm-service/internal/ownership"
	"github.com/vm-service/vm-service/test/testenv"
)

// The two manager binaries the bench runs as processes of their own, built into ScaleConfig.Dir.
const (
	productManager = "manager"      // cmd/manager, as deployed
	benchManager   = "benchmanager" // the same manager plus the allow-all webhook
)

// buildManagers builds cmd/manager and test/bench/benchmanager into dir.
func buildManagers(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/manager", "./test/bench/benchmanager")
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the managers: %w\n%s", err, out)
	}
	return nil
}

// managerProcess is a manager running as a process of its own against the bench's apiserver.
type managerProcess struct {
	cmd        *exec.Cmd
	exited     chan struct{} // closed once the process has exited, with exitErr set
	exitErr    error
	metricsURL string
	token      string
}

// startManager runs binary from dir as the manager's user, serving the webhooks envtest registered
// and its metrics and health endpoints on loopback ports, with its log in dir/<binary>.log. It
// returns once the manager is ready (its webhook server answers).
func startManager(ctx context.Context, env *testenv.Env, dir, binary, token string, extra ...string) (*managerProcess, error) {
	kubeconfig, err := env.ManagerKubeconfig()
	if err != nil {
		return nil, err
	}
	wio := env.WebhookInstallOptions
	metricsAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	healthAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", healthAddr,
		"--webhook-host", wio.LocalServingHost,
		"--webhook-port", strconv.Itoa(wio.LocalServingPort),
		"--webhook-cert-dir", wio.LocalServingCertDir,
		"--manager-user", ownership.DefaultManager,
	}, extra...)
	logFile, err := os.Create(filepath.Join(dir, binary+".log"))
	if err != nil {
		return nil, fmt.Errorf("manager log: %w", err)
	}
	cmd := exec.Command(filepath.Join(dir, binary), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &managerProcess{cmd: cmd, exited: make(chan struct{}), metricsURL: "https://" + metricsAddr + "/metrics", token: token}
	go func() {
		p.exitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	if err := p.waitReady(ctx, "http://"+healthAddr+"/readyz"); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// waitReady polls the manager's readiness endpoint until it answers 200.
func (p *managerProcess) waitReady(ctx context.Context, url string) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if p.hasExited() {
			return false, fmt.Errorf("manager exited: %v", p.exitErr)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil // not listening yet
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("manager never ready: %w", err)
	}
	return nil
}

// freeLoopbackAddr is a loopback address nothing listens on right now.
func freeLoopbackAddr() (string, error) {
	port, err := testenv.FreeLoopbackPort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// stop asks the manager to exit (SIGTERM, as a pod is stopped) and kills it after 30 seconds.
func (p *managerProcess) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		var exit *exec.ExitError
		if errors.As(p.exitErr, &exit) {
			return fmt.Errorf("manager exited: %w", p.exitErr)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("manager did not stop within 30s of SIGTERM")
	}
}

func (p *managerProcess) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// metrics scrapes the manager's metrics endpoint as a scraper would, in the protobuf format,
// which carries native histograms.
func (p *managerProcess) metrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	if p.hasExited() {
		return nil, fmt.Errorf("manager exited: %v", p.exitErr)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
	resp, err := scrapeClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape manager metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape manager metrics: %s", resp.Status)
	}
	families := map[string]*dto.MetricFamily{}
	dec := expfmt.NewDecoder(resp.Body, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for {
		f := &dto.MetricFamily{}
		if err := dec.Decode(f); errors.Is(err, io.EOF) {
			return families, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode manager metrics: %w", err)
		}
		families[f.GetName()] = f
	}
}

// scrapeClient trusts the metrics endpoint's self-signed certificate; it only dials loopback.
var scrapeClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed, loopback

// waitIdle waits until the manager's binding controller has reconciled at least reconciles
// times, its work queues are empty and the count has not moved for one poll. The manager is ready
// when started, so its cache holds everything; a binding it already reported on is not
// reconciled again, so a manager that starts among the bench's bindings reconciles none.
func (p *managerProcess) waitIdle(ctx context.Context, reconciles int) error {
	var last string
	previous := -1.0
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 15*time.Minute, true, func(ctx context.Context) (bool, error) {
		families, err := p.metrics(ctx)
		if err != nil {
			last = err.Error()
			return false, nil // the endpoint comes up a moment after the process
		}
		reconciled := sumWhere(families["controller_runtime_reconcile_total"], "controller", bindingController)
		depth := sumWhere(families["workqueue_depth"], "", "")
		last = fmt.Sprintf("%d bindings reconciled, %d queued", int(reconciled), int(depth))
		settled := reconciled == previous
		previous = reconciled
		return reconciled >= float64(reconciles) && depth == 0 && settled, nil
	})
	if err != nil {
		return fmt.Errorf("manager never idle (%s): %w", last, err)
	}
	return nil
}

// bindingController is the binding controller's name on controller-runtime's metrics.
const bindingController = "virtualmachineclassbinding"

// sumWhere adds the counter or gauge values of f whose label has value (every one when label is
// empty).
func sumWhere(f *dto.MetricFamily, label, value string) float64 {
	var sum float64
	for _, m := range f.GetMetric() {
		if label == "" || labelValue(m, label) == value {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// metricsToken is a bearer token of a service account granted config/rbac's metrics-reader
// role: what a Prometheus scraper of the manager holds.
func metricsToken(ctx context.Context, env *testenv.Env) (string, error) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "metrics_reader_role.yaml"))
	if err != nil {
		return "", err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(data, role); err != nil {
		return "", fmt.Errorf("read the metrics-reader role: %w", err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "bench-scraper"}}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-scraper"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: sa.Namespace, Name: sa.Name}},
	}
	for _, obj := range []client.Object{role, sa, binding} {
		if err := env.Client.Create(ctx, obj); err != nil {
			return "", fmt.Errorf("metrics scraper %s: %w", obj.GetName(), err)
		}
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}
	if err := env.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("token of the metrics scraper: %w", err)
	}
	return tr.Status.Token, nil
}
