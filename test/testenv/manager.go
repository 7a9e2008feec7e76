package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/ownership"
)

// managerUser is who the manager runs as: the identity config/rbac grants the generated role to,
// so every spec that runs the manager also proves that role is enough.
const managerUser = ownership.DefaultManager

// StartManager runs the product's manager against the control plane, as the manager's service
// account with only the RBAC of config/rbac/role.yaml, serving the webhooks that WithWebhooks
// registered (unless opts.WebhookCerts has it keep its own certificate, where opts say), with
// metrics off unless opts.MetricsAddr names an address. It returns once the
// cache is synced and the webhooks answer; the returned stop function cancels the manager and
// waits for it to exit. Each configure changes a copy of the manager's client configuration, for
// instance to count its requests.
func (e *Env) StartManager(opts manager.Options, configure ...func(*rest.Config)) (ctrl.Manager, func(), error) {
	cfg, err := e.managerConfig()
	if err != nil {
		return nil, nil, err
	}
	if len(configure) > 0 {
		cfg = rest.CopyConfig(cfg)
		for _, c := range configure {
			c(cfg)
		}
	}
	wio := e.WebhookInstallOptions
	if opts.MetricsAddr == "" {
		opts.MetricsAddr = "0"
	}
	opts.HealthAddr = "0"
	opts.ManagerUser = managerUser
	if opts.WebhookCerts == nil { // a manager that keeps its own certificate serves where it is told
		opts.WebhookHost, opts.WebhookPort, opts.WebhookCertDir = wio.LocalServingHost, wio.LocalServingPort, wio.LocalServingCertDir
	}
	mgr, err := manager.New(cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stop := func() {
		cancel()
		<-done
	}
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		stop()
		return nil, nil, fmt.Errorf("manager cache did not sync")
	}
	if wio.LocalServingPort != 0 {
		checker := mgr.GetWebhookServer().StartedChecker()
		err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return checker(&http.Request{}) == nil, nil
		})
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("webhook server did not start: %w", err)
		}
	}
	return mgr, stop, nil
}

// ManagerKubeconfig writes a kubeconfig of the manager's user, granted the generated manager
// role, for a manager run as a process of its own (with --webhook-host, --webhook-port and
// --webhook-cert-dir from WebhookInstallOptions); it returns the file's path.
func (e *Env) ManagerKubeconfig() (string, error) {
	if _, err := e.managerConfig(); err != nil {
		return "", err
	}
	data, err := e.managerAuth.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("kubeconfig for %s: %w", managerUser, err)
	}
	path := filepath.Join(e.dir, "manager.kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("write manager kubeconfig: %w", err)
	}
	return path, nil
}

// managerConfig grants the generated manager role to the manager's user (once) and returns a
// client configuration authenticated as that user.
func (e *Env) managerConfig() (*rest.Config, error) {
	if e.managerAuth != nil {
		return e.managerAuth.Config(), nil
	}
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(data, role); err != nil {
		return nil, fmt.Errorf("read config/rbac/role.yaml: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: managerUser}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := e.Client.Create(ctx, obj); err != nil {
			return nil, fmt.Errorf("grant the manager role: %w", err)
		}
	}
	au, err := e.AddUser(envtest.User{Name: managerUser}, e.Config)
	if err != nil {
		return nil, fmt.Errorf("add manager user: %w", err)
	}
	e.managerAuth = au
	return au.Config(), nil
}
