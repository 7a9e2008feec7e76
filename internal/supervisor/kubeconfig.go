package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// AdminUser is the vSphere admin the kubeconfig's admin user stands for; it is in
	// system:masters, as the vCenter SSO admin is on a real supervisor.
	AdminUser = "administrator@vsphere.local"
	// DeveloperUser is a developer outside system:masters: bound to the edit roles in every
	// namespace, so RBAC can be tried (it may read classes and bindings, never create bindings).
	DeveloperUser = "devops@vsphere.local"
	// developerContextPrefix names the developer's context in namespace ns: devops@ns.
	developerContextPrefix = "devops@"
)

// kubeconfigUser is a user's credentials as they go into the kubeconfig.
type kubeconfigUser struct {
	name   string // the AuthInfo name, such as wcp:127.0.0.1:administrator@vsphere.local
	config *rest.Config
}

// kubeconfig writes the supervisor's kubeconfig the way a real supervisor's login plugin does:
// a context named after the server for the admin, and a context per namespace named after it.
// It only adds and removes its own entries and keeps the file's current-context, so a
// `kubectl config use-context` survives the rewrites that follow new namespaces.
type kubeconfig struct {
	path      string
	cluster   string // the cluster and admin context name: the apiserver host
	server    string
	ca        []byte
	admin     kubeconfigUser
	developer kubeconfigUser
}

func newKubeconfig(path, host string, admin, developer *rest.Config) *kubeconfig {
	return &kubeconfig{
		path:      path,
		cluster:   host,
		server:    admin.Host,
		ca:        admin.CAData,
		admin:     kubeconfigUser{name: "wcp:" + host + ":" + AdminUser, config: admin},
		developer: kubeconfigUser{name: "wcp:" + host + ":" + DeveloperUser, config: developer},
	}
}

// write makes the file hold the admin context, and an admin and a developer context for each
// namespace. fresh starts from an empty file (a clean start); otherwise entries the supervisor
// did not write are kept.
func (k *kubeconfig) write(namespaces []string, fresh bool) error {
	unlock, err := lockKubeconfig(k.path)
	if err != nil {
		return err
	}
	defer unlock()

	cfg := clientcmdapi.NewConfig()
	if !fresh {
		existing, err := clientcmd.LoadFromFile(k.path)
		switch {
		case err == nil:
			cfg = existing
		case errors.Is(err, os.ErrNotExist):
		default:
			return fmt.Errorf("read kubeconfig %s (delete it and the supervisor writes a new one): %w", k.path, err)
		}
	}

	cfg.Clusters[k.cluster] = &clientcmdapi.Cluster{Server: k.server, CertificateAuthorityData: k.ca}
	for _, u := range []kubeconfigUser{k.admin, k.developer} {
		cfg.AuthInfos[u.name] = &clientcmdapi.AuthInfo{
			ClientCertificateData: u.config.CertData,
			ClientKeyData:         u.config.KeyData,
		}
	}
	want := map[string]*clientcmdapi.Context{k.cluster: {Cluster: k.cluster, AuthInfo: k.admin.name}}
	for _, ns := range namespaces {
		want[ns] = &clientcmdapi.Context{Cluster: k.cluster, AuthInfo: k.admin.name, Namespace: ns}
		want[developerContextPrefix+ns] = &clientcmdapi.Context{Cluster: k.cluster, AuthInfo: k.developer.name, Namespace: ns}
	}
	// Contexts on our cluster that are no longer wanted belong to deleted namespaces.
	for name, c := range cfg.Contexts {
		if _, ok := want[name]; !ok && c.Cluster == k.cluster {
			delete(cfg.Contexts, name)
		}
	}
	for name, c := range want {
		cfg.Contexts[name] = c
	}
	if _, ok := cfg.Contexts[cfg.CurrentContext]; !ok {
		cfg.CurrentContext = k.cluster
	}

	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	return writeFileAtomic(k.path, data, 0o600)
}

// lockKubeconfig takes the lock kubectl takes before it changes a kubeconfig (client-go's
// clientcmd creates <file>.lock exclusively), so a `kubectl config use-context` running at the
// same moment is not lost. A lock left by a crashed kubectl is ignored after a few seconds.
func lockKubeconfig(path string) (unlock func(), err error) {
	lock := path + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create directory for kubeconfig: %w", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_ = f.Close()
			return func() { _ = os.Remove(lock) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock kubeconfig: %w", err)
		}
		if time.Now().After(deadline) {
			return func() {}, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeFileAtomic replaces path with data in one rename, so readers never see half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
