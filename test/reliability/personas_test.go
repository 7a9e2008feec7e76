package reliability_test

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// resource is one kind or subresource the developer may be asked about.
type resource struct {
	group, kind, resource, subresource string
	namespaced                         bool
}

func (r resource) String() string {
	if r.subresource != "" {
		return r.resource + "/" + r.subresource
	}
	return r.resource
}

const (
	vmopGroup = "vmoperator.vmware.com"
	runGroup  = "run.tanzu.vmware.com"
)

var (
	allVerbs  = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	readVerbs = []string{"get", "list", "watch"}
)

// developerMay is the developer's row of docs/behaviour.md's "Who may do what" table: the verbs
// allowed on each resource in the developer's own namespace, or anywhere for a cluster-scoped
// one. In any other namespace the developer may do nothing.
var developerMay = map[resource][]string{
	{vmopGroup, "VirtualMachine", "virtualmachines", "", true}:                               allVerbs,
	{vmopGroup, "VirtualMachine", "virtualmachines", "status", true}:                         nil,
	{runGroup, "TanzuKubernetesCluster", "tanzukubernetesclusters", "", true}:                allVerbs,
	{runGroup, "TanzuKubernetesCluster", "tanzukubernetesclusters", "status", true}:          nil,
	{vmopGroup, "VirtualMachineClassBinding", "virtualmachineclassbindings", "", true}:       readVerbs,
	{vmopGroup, "VirtualMachineClassBinding", "virtualmachineclassbindings", "status", true}: nil,
	{vmopGroup, "VirtualMachineClass", "virtualmachineclasses", "", false}:                   readVerbs,
	{vmopGroup, "VirtualMachineClass", "virtualmachineclasses", "status", false}:             nil,
	{vmopGroup, "VirtualMachineImage", "virtualmachineimages", "", false}:                    readVerbs,
	{vmopGroup, "VirtualMachineImage", "virtualmachineimages", "status", false}:              nil,
	{runGroup, "TanzuKubernetesRelease", "tanzukubernetesreleases", "", false}:               readVerbs,
	{runGroup, "TanzuKubernetesRelease", "tanzukubernetesreleases", "status", false}:         nil,
	{vmopGroup, "VirtualMachineService", "virtualmachineservices", "", true}:                 allVerbs,
	{vmopGroup, "VirtualMachineService", "virtualmachineservices", "status", true}:           nil,
	// The load balancer's address is the platform's (or the manager's) to write, never a user's.
	{"", "Service", "services", "status", true}:                                                         readVerbs,
	{vmopGroup, "VirtualMachineSetResourcePolicy", "virtualmachinesetresourcepolicies", "", true}:       allVerbs,
	{vmopGroup, "VirtualMachineSetResourcePolicy", "virtualmachinesetresourcepolicies", "status", true}: nil,
	// Guest data for VMs, through the standard edit role.
	{"", "ConfigMap", "configmaps", "", true}: allVerbs,
	{"", "Secret", "secrets", "", true}:       allVerbs,
}

var _ = Describe("R5: the developer persona", Label("reliability"), Ordered, func() {
	var (
		env        *testenv.Env
		home, away string
		dev        *testenv.User
	)
	BeforeAll(func() {
		env = testenv.ForSuite(testenv.WithWebhooks())
		env.InstallPersonas()
		home = env.NewNamespace("developer-home")
		away = env.NewNamespace("someone-else")
		dev = newDeveloper(env, home)
	})

	It("may do exactly what docs/behaviour.md says, for every verb on every kind and subresource", func() {
		var allowed, refused int
		var surprises []string
		for r, may := range developerMay {
			for _, ns := range namespacesToAsk(r, home, away) {
				for _, verb := range allVerbs {
					want := ns == home && slices.Contains(may, verb) || !r.namespaced && slices.Contains(may, verb)
					got := accessReview(env, dev, ns, verb, r)
					if got != want {
						surprises = append(surprises, describeSurprise(dev, ns, verb, r, want, got))
					}
					if got {
						allowed++
					} else {
						refused++
					}
				}
			}
		}
		agreeing := 0
		for r, may := range developerMay {
			if r.subresource != "" {
				continue
			}
			// A real list confirms each review: the apiserver's own answer to the developer.
			for _, ns := range namespacesToAsk(r, home, away) {
				want := slices.Contains(may, "list") && (ns == home || !r.namespaced)
				err := dev.Client.List(ctx, listOf(r), client.InNamespace(ns))
				if got := err == nil; got != want || (!got && !apierrors.IsForbidden(err)) {
					surprises = append(surprises, "a real "+describeSurprise(dev, ns, "list", r, want, got)+": "+errString(err))
				} else {
					agreeing++
				}
			}
		}
		Expect(surprises).To(BeEmpty())
		reportFigure("R5 persona sweep: %d allowed, %d refused, %d surprises (SubjectAccessReviews of %d verbs on %d kinds and subresources, in the developer's namespace and another; %d real lists agree)",
			allowed, refused, len(surprises), len(allVerbs), len(developerMay), agreeing)
	})

	It("is refused every create and update of a guarded kind while the manager, which serves the webhooks, is stopped", func() {
		_, stop, err := env.StartManager(manager.Options{Enforcement: enforcement.Deny})
		Expect(err).NotTo(HaveOccurred())
		admin := env.Client
		class, binding := objects.BestEffortClass("reliability-small", 1, "1Gi"), objects.Binding(home, "reliability-small", "reliability-small")
		Expect(admin.Create(ctx, class)).To(Succeed())
		Expect(admin.Create(ctx, binding)).To(Succeed())
		Expect(admin.Create(ctx, objects.Release("v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2", "photon-3-k8s-v1.20.2"))).To(Succeed())
		vm := objects.VM(home, "existing", class.Name, "ubuntu")
		Expect(dev.Client.Create(ctx, vm)).To(Succeed())
		cluster := objects.Cluster(home, "existing", class.Name, class.Name)
		Expect(dev.Client.Create(ctx, cluster)).To(Succeed())
		stop()

		// Each operation a webhook of config/webhook guards, by whom RBAC lets do it.
		writes := map[string]func() error{
			"developer creates a VirtualMachine": func() error {
				return dev.Client.Create(ctx, objects.VM(home, "new", class.Name, "ubuntu"))
			},
			"developer updates a VirtualMachine": func() error { return relabel(dev.Client, vm) },
			"developer creates a TanzuKubernetesCluster": func() error {
				return dev.Client.Create(ctx, objects.Cluster(home, "new", class.Name, class.Name))
			},
			"developer updates a TanzuKubernetesCluster": func() error { return relabel(dev.Client, cluster) },
			"admin creates a VirtualMachineClass": func() error {
				return admin.Create(ctx, objects.BestEffortClass("reliability-new", 1, "1Gi"))
			},
			"admin updates a VirtualMachineClass": func() error { return relabel(admin, class) },
			"admin deletes a VirtualMachineClass": func() error { return admin.Delete(ctx, class) },
			"admin creates a VirtualMachineClassBinding": func() error {
				return admin.Create(ctx, objects.Binding(home, "reliability-new", class.Name))
			},
			"admin updates a VirtualMachineClassBinding": func() error { return relabel(admin, binding) },
		}
		var notRefused []string
		for what, write := range writes {
			if err := write(); err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
				notRefused = append(notRefused, what+": "+errString(err))
			}
		}
		Expect(notRefused).To(BeEmpty(), "each should fail closed, for want of a webhook that answers")
		reportFigure("R5 webhook down: %d/%d guarded writes refused (create and update of VirtualMachine, TanzuKubernetesCluster, VirtualMachineClass, VirtualMachineClassBinding; class delete)",
			len(writes)-len(notRefused), len(writes))
	})
})

// namespacesToAsk are where a review about r is asked: the developer's namespace and another
// for a namespaced kind, the cluster for a cluster-scoped one.
func namespacesToAsk(r resource, home, away string) []string {
	if r.namespaced {
		return []string{home, away}
	}
	return []string{""}
}

// accessReview asks the apiserver whether the developer may do verb on r in ns.
func accessReview(env *testenv.Env, dev *testenv.User, ns, verb string, r resource) bool {
	GinkgoHelper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		// The group every authenticated request carries, which the catalog reader is bound to.
		User: dev.Name, Groups: []string{"system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Group: r.group, Resource: r.resource, Subresource: r.subresource,
		},
	}}
	Expect(env.Client.Create(ctx, sar)).To(Succeed())
	return sar.Status.Allowed
}

func describeSurprise(dev *testenv.User, ns, verb string, r resource, want, got bool) string {
	where := "cluster-wide"
	if ns != "" {
		where = "in namespace " + ns
	}
	return fmt.Sprintf("%s %s %s by %s: allowed %t, the table says %t", verb, r, where, dev.Name, got, want)
}

func listOf(r resource) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(schema.GroupVersionKind{Group: r.group, Version: versionOf(r.group), Kind: r.kind + "List"})
	return l
}

func versionOf(group string) string {
	if group == "" {
		return "v1"
	}
	return "v1alpha1"
}

// relabel writes a label outside the product's groups, which admission lets anyone write.
func relabel(c client.Client, obj client.Object) error {
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	obj.SetLabels(map[string]string{"reliability": "probe"})
	return c.Update(ctx, obj)
}

func errString(err error) string {
	if err == nil {
		return "admitted"
	}
	return err.Error()
}

// newDeveloper authenticates the developer persona of namespace ns: the standard edit role as a
// cluster aggregates it (envtest runs no aggregation controller, so its parts are bound
// directly, as the local supervisor does), which brings in vm-service-edit.
func newDeveloper(env *testenv.Env, ns string) *testenv.User {
	return env.NewDeveloper(ns, "edit", "system:aggregate-to-edit", "system:aggregate-to-view", "vm-service-edit")
}
