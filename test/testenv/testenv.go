// Package testenv starts a real kube-apiserver and etcd (built by hack/tools) with the project's
// CRDs installed, for integration specs. Only test code imports it.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/vm-service/vm-service/internal/scheme"
)

// Env is a running control plane with a client that knows the project's types.
type Env struct {
	*envtest.Environment
	Config *rest.Config
	Client client.Client

	dir        string
	kubeconfig string
}

// RepoRoot is the checkout this package was compiled from; specs find manifests and tools there.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Start brings up etcd and kube-apiserver, installs the CRDs from config/crd/bases and waits
// until they are served.
func Start() (*Env, error) {
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
	if env.kubeconfig, err = env.WriteKubeconfig("admin", "system:masters"); err != nil {
		_ = env.Stop()
		return nil, err
	}
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

// WriteKubeconfig authenticates a user with the given groups and writes a kubeconfig for it,
// so the real kubectl can talk to the control plane as that user.
func (e *Env) WriteKubeconfig(user string, groups ...string) (string, error) {
	au, err := e.AddUser(envtest.User{Name: user, Groups: groups}, e.Config)
	if err != nil {
		return "", fmt.Errorf("add user %s: %w", user, err)
	}
	data, err := au.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("kubeconfig for %s: %w", user, err)
	}
	path := filepath.Join(e.dir, user+".kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// Kubectl runs the kubectl on PATH as the admin user and returns what it printed.
func (e *Env) Kubectl(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	return RunKubectl(ctx, e.kubeconfig, args...)
}

// RunKubectl runs the kubectl on PATH with the given kubeconfig.
func RunKubectl(ctx context.Context, kubeconfig string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %v: %w: %s", args, err, errOut.String())
	}
	return out.String(), errOut.String(), err
}
