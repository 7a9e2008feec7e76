// Package loadbalancer stands in for a platform load balancer where there is none (the local
// supervisor): it gives each LoadBalancer Service an address from a VIP range, writes it to the
// Service's status.loadBalancer.ingress, records it on the Service in an annotation, and frees it
// when the Service goes or stops being a LoadBalancer. Nothing forwards traffic to the address.
//
// A restarted allocator reserves every recorded address before it hands out one, so no two
// Services ever share one; of two Services that claim the same address, the older keeps it.
package loadbalancer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/ippool"
	"github.com/vm-service/vm-service/internal/patch"
)

// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=services/status,verbs=get;update;patch

// Allocator gives LoadBalancer Services addresses from its range.
type Allocator struct {
	// Client reads from the manager's cache.
	Client client.Client
	// Pool is the VIP range, such as 127.0.160.0/24 (its first host address is never handed out).
	Pool *ippool.Pool

	mu     sync.Mutex
	seeded bool // recorded allocations were reserved
}

// New returns an allocator over cidr.
func New(c client.Client, cidr string) (*Allocator, error) {
	pool, err := ippool.New(cidr)
	if err != nil {
		return nil, fmt.Errorf("load balancer range: %w", err)
	}
	return &Allocator{Client: c, Pool: pool}, nil
}

// SetupWithManager watches Services.
func (a *Allocator) SetupWithManager(mgr ctrl.Manager) error {
	if a.Client == nil || a.Pool == nil {
		return errors.New("load balancer allocator needs a client and a pool")
	}
	return ctrl.NewControllerManagedBy(mgr).For(&corev1.Service{}).Named("loadbalancer").Complete(a)
}

// owner keys an allocation by namespace and name, so a Service deleted while nobody watched
// frees its address simply by not being there when the allocator starts.
func owner(key client.ObjectKey) string { return key.String() }

// Reconcile gives a LoadBalancer Service its address, or frees what another Service held.
func (a *Allocator) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if err := a.seed(ctx); err != nil {
		return ctrl.Result{}, err
	}
	service := &corev1.Service{}
	if err := a.Client.Get(ctx, req.NamespacedName, service); err != nil {
		if client.IgnoreNotFound(err) == nil {
			a.Pool.Release(owner(req.NamespacedName))
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", service.Namespace, "name", service.Name)
	helper := patch.NewHelper(service, a.Client)
	recorded := service.Annotations[vmopv1.LoadBalancerIPAnnotation]

	if !ours(service) {
		if recorded == "" {
			return ctrl.Result{}, nil
		}
		a.Pool.Release(owner(req.NamespacedName))
		delete(service.Annotations, vmopv1.LoadBalancerIPAnnotation)
		service.Status.LoadBalancer = corev1.LoadBalancerStatus{}
		log.Info("released load balancer address", "ip", recorded)
		return ctrl.Result{}, helper.Patch(ctx, service)
	}

	ip, err := a.Pool.Allocate(owner(req.NamespacedName))
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("give Service %s a load balancer address: %w; widen --load-balancer-range", req.NamespacedName, err)
	}
	if recorded != ip {
		if recorded != "" {
			log.Info("recorded load balancer address is another Service's; giving a new one", "recorded", recorded, "ip", ip)
		}
		if service.Annotations == nil {
			service.Annotations = map[string]string{}
		}
		service.Annotations[vmopv1.LoadBalancerIPAnnotation] = ip
		log.Info("allocated load balancer address", "ip", ip)
	}
	service.Status.LoadBalancer = corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: ip}}}
	// The patch helper writes the annotation before the status, so an address is never in use
	// without its record.
	return ctrl.Result{}, helper.Patch(ctx, service)
}

// ours says whether the Service is a LoadBalancer this allocator serves: not being deleted and
// not asking for another implementation by class.
func ours(service *corev1.Service) bool {
	return service.Spec.Type == corev1.ServiceTypeLoadBalancer && service.DeletionTimestamp.IsZero() &&
		service.Spec.LoadBalancerClass == nil
}

// seed reserves, once, every address recorded on a Service, oldest Service first, before the
// first address is handed out.
func (a *Allocator) seed(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seeded {
		return nil
	}
	services := &corev1.ServiceList{}
	if err := a.Client.List(ctx, services); err != nil {
		return fmt.Errorf("list Services to reserve their load balancer addresses: %w", err)
	}
	items := services.Items
	slices.SortFunc(items, func(x, y corev1.Service) int {
		return cmp.Or(x.CreationTimestamp.Time.Compare(y.CreationTimestamp.Time), cmp.Compare(x.Namespace+"/"+x.Name, y.Namespace+"/"+y.Name))
	})
	for i := range items {
		if ip := items[i].Annotations[vmopv1.LoadBalancerIPAnnotation]; ip != "" && ours(&items[i]) {
			a.Pool.Reserve(owner(client.ObjectKeyFromObject(&items[i])), ip)
		}
	}
	a.seeded = true
	return nil
}
