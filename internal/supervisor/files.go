package supervisor

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vm-service/vm-service/internal/vcsim"
)

// modulePath identifies the checkout FindRepoRoot looks for.
const modulePath = "github.com/vm-service/vm-service"

// FindRepoRoot walks up from dir to the checkout of this module, so the supervisor finds its
// manifests wherever in the tree it is started.
func FindRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module "+modulePath+"\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no checkout of %s above %s: run the supervisor from inside the repository", modulePath, dir)
		}
	}
}

// writeGovcEnv writes the file the vCenter admin sources before using govc. It is the one place
// the simulator's password is written, which is its purpose; it is readable by its owner only.
func (s *Supervisor) writeGovcEnv() error {
	username, password := s.vcenterCredentials()
	var b strings.Builder
	b.WriteString("# The local supervisor's vCenter (govmomi's simulator). Use: source " + s.paths.GovcEnv + "\n")
	for _, kv := range [][2]string{
		{"GOVC_URL", s.vcenterURL()},
		{"GOVC_INSECURE", "1"},
		{"GOVC_USERNAME", username},
		{"GOVC_PASSWORD", password},
		// The simulator takes the cluster by name: govc namespace.create -cluster $SUPERVISOR_CLUSTER.
		{"SUPERVISOR_CLUSTER", vcsim.ClusterName},
	} {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return writeFileAtomic(s.paths.GovcEnv, []byte(b.String()), 0o600)
}

// shellQuote quotes v for a POSIX shell.
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// Usage is what a user reads once the supervisor is ready: how to point kubectl and govc at it,
// and the walkthrough's first commands.
func (s *Supervisor) Usage() string {
	govc := filepath.Join(s.cfg.RepoRoot, "bin", "govc")
	var b strings.Builder
	fmt.Fprintf(&b, `
VM Service is running on the local supervisor (class-binding enforcement: %s).

  export KUBECONFIG=%s
  source %s

  kubectl config get-contexts                      # the admin context %s
  kubectl get virtualmachineclasses                # none until a class is assigned to a namespace

  # As the vSphere admin, in vCenter:
  %s namespace.create -cluster $SUPERVISOR_CLUSTER new-namespace
  %s namespace.update -vmclass guaranteed-large -vmclass best-effort-small new-namespace

  kubectl config use-context new-namespace         # a context per namespace appears within seconds
  kubectl get virtualmachineclassbindings
  kubectl --context devops@new-namespace get virtualmachineclassbindings   # a developer (RBAC applies)

  # Publish a newer Tanzu Kubernetes release, which clusters on v1.20 may then upgrade to:
  %s library.import %s %s

Metrics: https://%s/metrics, with a token granted vm-service-metrics-reader (see README).
etcd and kube-apiserver log to %s. Ctrl-C stops everything.
`, s.cfg.Enforcement, s.paths.Kubeconfig, s.paths.GovcEnv, s.cfg.Host, govc, govc,
		govc, ContentLibrary, s.newerReleaseOVF(), s.metricsAddr(), s.paths.Logs)
	if s.cfg.Keep {
		b.WriteString("State is kept in " + s.cfg.StateDir + " for the next run (KEEP=1).\n")
	}
	return b.String()
}

// writeNewerRelease writes the descriptor of NewerRelease for an admin to publish, with the OVF
// manifest (its SHA-256) that govc library.import checks it against.
func (s *Supervisor) writeNewerRelease() error {
	ovf, err := NewerRelease().OVF()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.paths.Releases, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(s.newerReleaseOVF(), ovf, 0o644); err != nil {
		return err
	}
	manifest := fmt.Sprintf("SHA256(%s)= %x\n", filepath.Base(s.newerReleaseOVF()), sha256.Sum256(ovf))
	return writeFileAtomic(strings.TrimSuffix(s.newerReleaseOVF(), ".ovf")+".mf", []byte(manifest), 0o644)
}

func (s *Supervisor) newerReleaseOVF() string {
	return filepath.Join(s.paths.Releases, NewerRelease().Name+".ovf")
}
