package manager

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tkcctrl "github.com/vm-service/vm-service/controllers/tanzukubernetescluster"
	tkrctrl "github.com/vm-service/vm-service/controllers/tanzukubernetesrelease"
	classctrl "github.com/vm-service/vm-service/controllers/virtualmachineclass"
	bindingctrl "github.com/vm-service/vm-service/controllers/virtualmachineclassbinding"
	vmservicectrl "github.com/vm-service/vm-service/controllers/virtualmachineservice"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/loadbalancer"
)

// setupWithManager is what every controller and webhook of the product implements.
type setupWithManager interface {
	SetupWithManager(ctrl.Manager) error
}

// setupControllers registers the reconcilers that need no vCenter: status of classes, bindings,
// releases and clusters. The VirtualMachine controller and image sync need vCenter and are
// registered by setupVCenter.
func setupControllers(mgr ctrl.Manager, access client.Client, bound *classaccess.BoundSet, opts Options) error {
	clusterEvents := opts.ClusterEventSource
	if clusterEvents == "" {
		clusterEvents = DefaultClusterEventSource
	}
	for name, r := range map[string]setupWithManager{
		// One entry per controller, e.g. "VirtualMachineClass": &classctrl.Reconciler{...},
		"TanzuKubernetesRelease":     &tkrctrl.Reconciler{Client: mgr.GetClient()},
		"TanzuKubernetesCluster":     &tkcctrl.Reconciler{Client: access, Bound: bound, Recorder: mgr.GetEventRecorderFor(clusterEvents)},
		"VirtualMachineClass":        &classctrl.Reconciler{Client: mgr.GetClient()},
		"VirtualMachineClassBinding": &bindingctrl.Reconciler{Client: mgr.GetClient()},
		"VirtualMachineService":      &vmservicectrl.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorderFor("virtualmachineservice-controller")},
	} {
		if err := r.SetupWithManager(mgr); err != nil {
			return fmt.Errorf("set up %s controller: %w", name, err)
		}
	}
	return setupLoadBalancer(mgr, opts.LoadBalancerRange)
}

// setupLoadBalancer adds the VIP allocator for LoadBalancer Services where no platform load
// balancer fills their status (the local supervisor); an empty range adds nothing.
func setupLoadBalancer(mgr ctrl.Manager, cidr string) error {
	if cidr == "" {
		return nil
	}
	lb, err := loadbalancer.New(mgr.GetClient(), cidr)
	if err != nil {
		return err
	}
	if err := lb.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up load balancer allocator: %w", err)
	}
	return nil
}
