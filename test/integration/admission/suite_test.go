package admission_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// The admission suite drives the webhooks through the real kube-apiserver, as a platform admin
// and as a namespace editor whose rights come from the RBAC personas in config/rbac.
func TestAdmission(t *testing.T) {
	// Generous: a shared two-core machine running suites in parallel can be slow to converge.
	SetDefaultEventuallyTimeout(20 * time.Second)
	RegisterFailHandler(Fail)
	RunSpecs(t, "Admission suite")
}

var (
	ctx         = context.Background()
	env         *testenv.Env
	admin       client.Client
	stopManager func()
)

var _ = BeforeSuite(func() {
	env = testenv.ForSuite(testenv.WithWebhooks())
	admin = env.Client
	installPersonas()
	// Clusters name v1.20.2; the version must resolve to a release to be admitted.
	Expect(admin.Create(ctx, objects.Release("v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2", "photon-3-k8s-v1.20.2"))).To(Succeed())
	startManager(enforcement.Deny)
	DeferCleanup(func() { stopManager() })
})

// startManager (re)starts the manager, whose webhooks answer in the given enforcement mode.
func startManager(mode enforcement.Mode) {
	if stopManager != nil {
		stopManager()
	}
	var err error
	_, stopManager, err = env.StartManager(manager.Options{Enforcement: mode})
	Expect(err).NotTo(HaveOccurred())
}

// installPersonas creates the roles of config/rbac/personas.yaml.
func installPersonas() {
	f, err := os.Open(filepath.Join(testenv.RepoRoot(), "config", "rbac", "personas.yaml"))
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	decoder := yaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var u map[string]any
		if err := decoder.Decode(&u); err != nil {
			break
		}
		if u == nil {
			continue
		}
		Expect(admin.Create(ctx, &unstructured.Unstructured{Object: u})).To(Succeed())
	}
}

// newNamespace makes a fresh namespace for one spec.
func newNamespace() string { return env.NewNamespace("admission") }

// newEditor authenticates a user who is a namespace editor in ns and nothing more: the standard
// edit role plus the vm-service-edit persona (envtest runs no role-aggregation controller, so the
// persona is bound directly instead of through edit's aggregation).
func newEditor(ns string) *testenv.User {
	name := "developer-" + ns
	for _, role := range []string{"edit", "vm-service-edit"} {
		Expect(admin.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-" + role},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
		})).To(Succeed())
	}
	u, err := env.NewUser(name)
	Expect(err).NotTo(HaveOccurred())
	return u
}
