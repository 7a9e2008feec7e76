package testenv

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// InstallPersonas creates the roles of config/rbac/personas.yaml, as an installation does.
func (e *Env) InstallPersonas() {
	GinkgoHelper()
	f, err := os.Open(filepath.Join(RepoRoot(), "config", "rbac", "personas.yaml"))
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	decoder := yaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var u map[string]any
		if err := decoder.Decode(&u); err != nil {
			break
		}
		if u != nil {
			Expect(e.Client.Create(context.Background(), &unstructured.Unstructured{Object: u})).To(Succeed())
		}
	}
}

// NewDeveloper authenticates user "developer-<ns>", bound in namespace ns to each of the cluster
// roles and to nothing else. envtest runs no role-aggregation controller, so callers name the
// parts of an aggregated role they need.
func (e *Env) NewDeveloper(ns string, clusterRoles ...string) *User {
	GinkgoHelper()
	name := "developer-" + ns
	for _, role := range clusterRoles {
		Expect(e.Client.Create(context.Background(), &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.ReplaceAll(name+"-"+role, ":", "-")},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
		})).To(Succeed())
	}
	u, err := e.NewUser(name)
	Expect(err).NotTo(HaveOccurred())
	return u
}
