// Package scheme owns the runtime.Scheme shared by the manager, the local supervisor and the
// tests: the built-in Kubernetes types plus both of the project's API groups.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// New returns a scheme that knows every kind the product reads or writes.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(vmopv1.AddToScheme(s))
	utilruntime.Must(runv1.AddToScheme(s))
	return s
}
