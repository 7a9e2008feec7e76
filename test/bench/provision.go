package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
	vapirest "github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/vcenter"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	vmctrl "github.com/vm-service/vm-service/controllers/virtualmachine"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/supervisor"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// ProvisionConfig sizes the provisioning figures.
type ProvisionConfig struct {
	// VMs are created round-robin in Namespaces namespaces by Clients clients at once.
	VMs, Namespaces, Clients int
	// Timeout bounds each timed part.
	Timeout time.Duration
	// Log, when set, receives each part's time and the manager's writes by resource.
	Log io.Writer
}

// DefaultProvision is the configuration: 1,000 VMs in 100 namespaces.
var DefaultProvision = ProvisionConfig{VMs: 1000, Namespaces: 100, Clients: 4, Timeout: 5 * time.Minute}

// benchLibrary holds the image the VMs are made from, benchImage (the name createVM uses).
const (
	benchLibrary = "bench-images"
	benchImage   = "bench-image"
)

// Provisioning measures vms_1000_ratio and api_writes_per_vm on one control plane and one
// simulator: raw govmomi deploys and power-ons (at the VM controller's concurrency), the
// apiserver admitting the creates with no controller running, then the product making the same
// VMs, counting the writes of its manager from the first create until every VM is powered on.
func Provisioning(ctx context.Context, cfg ProvisionConfig) (res Results, err error) {
	env, sim, stop, err := startWithSimulator(ctx, vcsim.ImageSpec{Name: benchImage, OSType: "centos64Guest", CPUs: 1, MemoryMiB: 256})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, stop()) }()
	// The webhooks admit the namespaces' objects, then the floor's VMs: a manager without vCenter
	// serves them and runs no VM controller.
	_, stopAdmission, err := env.StartManager(manager.Options{Enforcement: enforcement.Deny})
	if err != nil {
		return nil, err
	}
	namespaces, err := provisionNamespaces(ctx, env.Client, cfg.Namespaces)
	if err != nil {
		stopAdmission()
		return nil, err
	}
	vsphereTime, err := rawDeploys(ctx, sim, cfg.VMs, vmctrl.Concurrency, cfg.Timeout)
	if err != nil {
		stopAdmission()
		return nil, err
	}
	apiTime, err := admissionOnly(ctx, env.Client, namespaces, cfg)
	stopAdmission()
	if err != nil {
		return nil, err
	}
	writes := &writeCounter{byResource: map[string]int{}}
	productTime, err := provisionWithProduct(ctx, env, sim, namespaces, cfg, writes)
	if err != nil {
		return nil, err
	}
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "provisioning %d VMs: product %s, apiserver alone %s, govmomi alone %s; manager writes: %s\n",
			cfg.VMs, productTime.Round(time.Millisecond), apiTime.Round(time.Millisecond), vsphereTime.Round(time.Millisecond), writes)
	}
	return Results{
		"vms_1000_ratio":    productTime.Seconds() / (apiTime + vsphereTime).Seconds(),
		"api_writes_per_vm": float64(writes.total.Load()) / float64(cfg.VMs),
	}, nil
}

// startWithSimulator starts a control plane with the product's webhooks registered and a
// simulator whose content library holds image; stop stops both.
func startWithSimulator(ctx context.Context, image vcsim.ImageSpec) (*testenv.Env, *vcsim.Simulator, func() error, error) {
	env, err := testenv.Start(testenv.WithWebhooks())
	if err != nil {
		return nil, nil, nil, err
	}
	sim, err := vcsim.Start()
	if err != nil {
		return nil, nil, nil, errors.Join(err, env.Stop())
	}
	stop := func() error {
		sim.Stop()
		return env.Stop()
	}
	if err := sim.SeedLibrary(ctx, benchLibrary, image); err != nil {
		return nil, nil, nil, errors.Join(err, stop())
	}
	return env, sim, stop, nil
}

// provisionNamespaces makes n namespaces, each with the storage class assigned and benchClass
// bound, and the class itself.
func provisionNamespaces(ctx context.Context, c client.Client, n int) ([]string, error) {
	if err := c.Create(ctx, objects.StorageClass(testenv.StorageClass, vcsim.VSANDefaultPolicyID)); err != nil {
		return nil, fmt.Errorf("storage class: %w", err)
	}
	if err := c.Create(ctx, objects.BestEffortClass(benchClass, 1, "256Mi")); err != nil {
		return nil, fmt.Errorf("class: %w", err)
	}
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("provision-%d", i)
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: names[i]}}); err != nil {
			return nil, fmt.Errorf("namespace %s: %w", names[i], err)
		}
		if err := c.Create(ctx, objects.StorageQuota(names[i], testenv.StorageClass)); err != nil {
			return nil, fmt.Errorf("assign storage to %s: %w", names[i], err)
		}
		if err := c.Create(ctx, objects.Binding(names[i], benchClass, benchClass)); err != nil {
			return nil, fmt.Errorf("bind %s in %s: %w", benchClass, names[i], err)
		}
	}
	return names, nil
}

// admissionOnly times the apiserver admitting the VMs through the product's webhooks while no
// controller acts on them, then deletes them.
func admissionOnly(ctx context.Context, c client.Client, namespaces []string, cfg ProvisionConfig) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	start := time.Now()
	if err := createVMs(ctx, c, namespaces, cfg); err != nil {
		return 0, err
	}
	took := time.Since(start)
	for _, ns := range namespaces {
		if err := c.DeleteAllOf(ctx, &vmopv1.VirtualMachine{}, client.InNamespace(ns)); err != nil {
			return 0, fmt.Errorf("delete the VMs of %s: %w", ns, err)
		}
	}
	return took, nil
}

// provisionWithProduct times the product making the VMs, from the first create until every one
// is powered on, with writes counting its manager's writes over that time.
func provisionWithProduct(ctx context.Context, env *testenv.Env, sim *vcsim.Simulator, namespaces []string, cfg ProvisionConfig, writes *writeCounter) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	poweredOn, err := watchPoweredOn(ctx, env)
	if err != nil {
		return 0, err
	}
	// The simulator has no DHCP: VMs get addresses from a pool, as on the local supervisor.
	vc := &manager.VCenterOptions{Config: simConfig(sim), ImageSyncInterval: time.Second, IPPool: supervisor.DefaultVMIPPool}
	_, stop, err := env.StartManager(manager.Options{Enforcement: enforcement.Deny, VCenter: vc}, writes.wrap)
	if err != nil {
		return 0, err
	}
	defer stop()
	// The image sync publishes the image; only then would a user's VMs find it.
	err = waitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		err := env.Client.Get(ctx, client.ObjectKey{Name: benchImage}, &vmopv1.VirtualMachineImage{})
		return err == nil, client.IgnoreNotFound(err)
	})
	if err != nil {
		return 0, fmt.Errorf("image %s never published: %w", benchImage, err)
	}

	writes.counting.Store(true)
	start := time.Now()
	if err := createVMs(ctx, env.Client, namespaces, cfg); err != nil {
		return 0, err
	}
	err = wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(context.Context) (bool, error) {
		return poweredOn() >= cfg.VMs, nil
	})
	took := time.Since(start)
	writes.counting.Store(false)
	if err != nil {
		return 0, fmt.Errorf("%d of %d VMs powered on: %w", poweredOn(), cfg.VMs, err)
	}
	return took, nil
}

// createVMs creates cfg.VMs VMs round-robin in namespaces, cfg.Clients at a time.
func createVMs(ctx context.Context, c client.Client, namespaces []string, cfg ProvisionConfig) error {
	return inParallel(ctx, cfg.Clients, cfg.VMs, func(ctx context.Context, i int) error {
		_, err := createVM(ctx, c, namespaces[i%len(namespaces)], fmt.Sprintf("vm-%d", i))
		return err
	})
}

// watchPoweredOn starts an informer on VirtualMachines and returns how many its status says are
// powered on, now.
func watchPoweredOn(ctx context.Context, env *testenv.Env) (func() int, error) {
	informers, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme})
	if err != nil {
		return nil, fmt.Errorf("VM informer: %w", err)
	}
	informer, err := informers.GetInformer(ctx, &vmopv1.VirtualMachine{})
	if err != nil {
		return nil, fmt.Errorf("VM informer: %w", err)
	}
	var on sync.Map
	var count atomic.Int64
	note := func(obj any) {
		if vm, ok := obj.(*vmopv1.VirtualMachine); ok && vm.Status.PowerState == vmopv1.VirtualMachinePoweredOn {
			if _, seen := on.LoadOrStore(client.ObjectKeyFromObject(vm), true); !seen {
				count.Add(1)
			}
		}
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: note, UpdateFunc: func(_, obj any) { note(obj) },
	}); err != nil {
		return nil, fmt.Errorf("VM informer: %w", err)
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		return nil, errors.New("VM informer did not sync")
	}
	return func() int { return int(count.Load()) }, nil
}

// simConfig is the product's vCenter configuration for the simulator.
func simConfig(sim *vcsim.Simulator) vsphere.Config { return sim.VSphereConfig(benchLibrary) }

// writeCounter counts the create, update and patch requests a client configuration sends while
// counting is on, by resource.
type writeCounter struct {
	counting atomic.Bool
	total    atomic.Int64
	mu       sync.Mutex
	// byResource counts by resource and subresource, such as "virtualmachines/status".
	byResource map[string]int
}

func (w *writeCounter) wrap(cfg *rest.Config) {
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if w.counting.Load() && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
				w.total.Add(1)
				w.mu.Lock()
				w.byResource[resourceOf(r.URL.Path)]++
				w.mu.Unlock()
			}
			return next.RoundTrip(r)
		})
	})
}

func (w *writeCounter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	parts := make([]string, 0, len(w.byResource))
	for r, n := range w.byResource {
		parts = append(parts, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// resourceOf is the resource, and subresource if any, an API path names.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch { // past /api/v1 or /apis/group/version
	case parts[0] == "api":
		parts = parts[min(2, len(parts)):]
	case parts[0] == "apis":
		parts = parts[min(3, len(parts)):]
	}
	if len(parts) > 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	switch {
	case len(parts) > 2:
		return parts[0] + "/" + parts[2]
	case len(parts) > 0:
		return parts[0]
	}
	return path
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// rawDeploys times deploying n VMs from the bench image with govmomi alone and powering each on,
// workers at a time: what vSphere itself takes for the VMs the product makes.
func rawDeploys(ctx context.Context, sim *vcsim.Simulator, n, workers int, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := sim.Client(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Logout(context.WithoutCancel(ctx)) }()
	c.DefaultTransport().MaxIdleConnsPerHost = vsphere.IdleConnections // as the product's client
	rc := vapirest.NewClient(c.Client)
	if err := rc.Login(ctx, sim.URL().User); err != nil {
		return 0, fmt.Errorf("rest login: %w", err)
	}
	lib, err := library.NewManager(rc).GetLibraryByName(ctx, benchLibrary)
	if err != nil {
		return 0, fmt.Errorf("library %s: %w", benchLibrary, err)
	}
	items, err := library.NewManager(rc).FindLibraryItems(ctx, library.FindItem{LibraryID: lib.ID, Name: benchImage})
	if err != nil || len(items) != 1 {
		return 0, fmt.Errorf("find %s in %s (%d found): %w", benchImage, benchLibrary, len(items), err)
	}
	finder := find.NewFinder(c.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return 0, err
	}
	finder.SetDatacenter(dc)
	pool, err := finder.ResourcePool(ctx, vcsim.ClusterName+"/Resources")
	if err != nil {
		return 0, fmt.Errorf("resource pool of %s: %w", vcsim.ClusterName, err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		return 0, err
	}
	ds, err := finder.DefaultDatastore(ctx)
	if err != nil {
		return 0, err
	}
	target := vcenter.Target{ResourcePoolID: pool.Reference().Value, FolderID: folders.VmFolder.Reference().Value}
	start := time.Now()
	err = inParallel(ctx, workers, n, func(ctx context.Context, i int) error {
		d := vcenter.Deploy{DeploymentSpec: vcenter.DeploymentSpec{
			Name: fmt.Sprintf("raw-%d", i), AcceptAllEULA: true,
			// On the storage policy the product's VMs get.
			DefaultDatastoreID: ds.Reference().Value, StorageProfileID: vcsim.VSANDefaultPolicyID,
		}, Target: target}
		ref, err := vcenter.NewManager(rc).DeployLibraryItem(ctx, items[0], d)
		if err != nil {
			return fmt.Errorf("deploy raw-%d: %w", i, err)
		}
		return runTask(ctx, object.NewVirtualMachine(c.Client, *ref).PowerOn)
	})
	return time.Since(start), err
}

// runTask starts a vSphere task and waits for it.
func runTask(ctx context.Context, start func(context.Context) (*object.Task, error)) error {
	task, err := start(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("vSphere task: %w", err)
	}
	return nil
}
