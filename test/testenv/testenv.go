// Package testenv starts a real kube-apiserver and etcd (built by hack/tools) with the project's
// CRDs installed, for integration specs. Only test code imports it.
package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/test/cli"
)

// Env is a running control plane with a client that knows the project's types.
type Env struct {
	*envtest.Environment
	Config *rest.Config
	Client client.Client

	dir        string
	kubeconfig string
	// managerAuth is the manager's user, once its role is granted.
	managerAuth *envtest.AuthenticatedUser
}

// RepoRoot is the checkout this package was compiled from; specs find manifests and tools there.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Option changes what Start brings up.
type Option func(*envtest.Environment)

// WithWebhooks also registers the admission webhooks of config/webhook with the apiserver,
// pointed at a local serving address; StartManager then serves them. Without a running manager
// every admitted request fails closed.
func WithWebhooks() Option {
	return func(te *envtest.Environment) {
		te.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{filepath.Join(RepoRoot(), "config", "webhook")}}
	}
}

// Start brings up etcd and kube-apiserver, installs the CRDs from config/crd/bases and waits
// until they are served.
func Start(opts ...Option) (*Env, error) {
	root := RepoRoot()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin")
	}
	for _, tool := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, tool)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run 'make tools' first: %w", tool, assets, err)
		}
	}
	s := scheme.New()
	if err := apiextensionsv1.AddToScheme(s); err != nil { // specs inspect the installed CRDs
		return nil, err
	}
	te := &envtest.Environment{
		Scheme:                   s,
		CRDDirectoryPaths:        []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	for _, o := range opts {
		o(te)
	}
	cfg, err := te.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	env := &Env{Environment: te, Config: cfg}
	if env.Client, err = client.New(cfg, client.Options{Scheme: te.Scheme}); err != nil {
		_ = te.Stop()
		return nil, fmt.Errorf("client for control plane: %w", err)
	}
	if env.dir, err = os.MkdirTemp("", "vm-service-testenv-"); err != nil {
		_ = te.Stop()
		return nil, err
	}
	admin, err := env.NewUser("admin", "system:masters")
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	env.kubeconfig = admin.Kubeconfig
	return env, nil
}

// Stop tears the control plane down and removes the files Start wrote.
func (e *Env) Stop() error {
	err := e.Environment.Stop()
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
	return err
}

// User is an authenticated user of the control plane, with a client and a kubeconfig for kubectl.
type User struct {
	Name       string
	Client     client.Client
	Kubeconfig string
}

// NewUser authenticates a user with the given groups. RBAC applies to it: a user outside
// system:masters may do only what roles bound to it allow.
func (e *Env) NewUser(name string, groups ...string) (*User, error) {
	au, err := e.AddUser(envtest.User{Name: name, Groups: groups}, e.Config)
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	data, err := au.KubeConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig for %s: %w", name, err)
	}
	u := &User{Name: name, Kubeconfig: filepath.Join(e.dir, name+".kubeconfig")}
	if err := os.WriteFile(u.Kubeconfig, data, 0o600); err != nil {
		return nil, err
	}
	if u.Client, err = client.New(au.Config(), client.Options{Scheme: e.Scheme}); err != nil {
		return nil, fmt.Errorf("client for %s: %w", name, err)
	}
	return u, nil
}

// Kubectl runs the kubectl on PATH as the admin user and returns what it printed.
func (e *Env) Kubectl(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	return e.admin().KubectlStreams(ctx, "", args...)
}

// KubectlApply runs `kubectl apply -f -` as the admin user with manifest on its input.
func (e *Env) KubectlApply(ctx context.Context, manifest string, args ...string) (stdout, stderr string, err error) {
	return e.admin().KubectlStreams(ctx, manifest, append([]string{"apply", "-f", "-"}, args...)...)
}

func (e *Env) admin() cli.Session { return cli.Session{Kubeconfig: e.kubeconfig} }
