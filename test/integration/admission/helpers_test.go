package admission_test

import (
	"strings"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/test/objects"
)

// ensureClasses creates the named classes (2 CPU, 8Gi, guaranteed) unless they exist.
func ensureClasses(names ...string) {
	for _, n := range names {
		err := admin.Create(ctx, objects.GuaranteedClass(n, 2, "8Gi"))
		if !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
}

// bind creates the classes if needed and binds each in ns under the class's own name.
func bind(ns string, classes ...string) {
	ensureClasses(classes...)
	for _, c := range classes {
		Expect(admin.Create(ctx, objects.Binding(ns, c, c))).To(Succeed())
	}
}

// createdEventually retries create until the webhook, whose cache may lag a moment behind the
// apiserver, admits obj.
func created(c client.Client, obj client.Object) {
	Expect(c.Create(ctx, obj)).To(Succeed())
}

// causes returns the field paths of an Invalid error's causes.
func causes(err error) []string {
	status, ok := err.(apierrors.APIStatus)
	Expect(ok).To(BeTrue(), "not an API status error: %v", err)
	var fields []string
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			fields = append(fields, c.Field)
		}
	}
	return fields
}

// oneLine folds white space so messages can be matched whatever kubectl's wrapping.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func objectKey(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
