package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

const (
	// fieldOwner is who the supervisor's server-side applies are recorded as.
	fieldOwner = "local-supervisor"
	// developerRoles are what the developer is bound to in every namespace. No role-aggregation
	// controller runs here (it lives in kube-controller-manager), so `edit` stays as the
	// apiserver bootstraps it, without rules: the roles it would aggregate (the core edit and view
	// rules, such as Secrets and ConfigMaps for guest data, and the product's persona) are
	// bound directly.
	developerRoleEdit          = "edit"
	developerRoleAggregateEdit = "system:aggregate-to-edit"
	developerRoleAggregateView = "system:aggregate-to-view"
	developerRolePersona       = "vm-service-edit"
)

// applyRoles applies the roles an installation of the product brings besides the manager's own:
// the personas, which decide who may do what with the product's kinds, and the metrics reader.
func applyRoles(ctx context.Context, c client.Client, repoRoot string) error {
	for _, name := range []string{"personas.yaml", "metrics_reader_role.yaml"} {
		if err := applyManifest(ctx, c, filepath.Join(repoRoot, "config", "rbac", name)); err != nil {
			return err
		}
	}
	return nil
}

// applyManifest applies every object of a YAML file with server-side apply.
func applyManifest(ctx context.Context, c client.Client, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read RBAC roles: %w", err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("parse %s: %w", file, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s %s from %s: %w", u.GetKind(), u.GetName(), file, err)
		}
	}
}

// ensureDeveloperBindings binds the developer to the namespace editor roles in ns.
func ensureDeveloperBindings(ctx context.Context, c client.Client, ns string) error {
	for _, role := range []string{developerRoleEdit, developerRoleAggregateEdit, developerRoleAggregateView, developerRolePersona} {
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devops-" + role},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: DeveloperUser}},
		}
		if err := c.Create(ctx, rb); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("bind %s to ClusterRole %s in namespace %s: %w", DeveloperUser, role, ns, err)
		}
	}
	return nil
}

// watchNamespaces keeps the kubeconfig and the developer's RoleBindings in step with the
// Namespaces the vCenter sync mirrors, until ctx ends. It wakes on every Namespace event from
// the manager's informer, so a namespace created in vCenter gets its contexts right after the
// sync creates it. With Keep it also snapshots the simulator, so a crash loses little.
func (s *Supervisor) watchNamespaces(ctx context.Context, written []string) error {
	kick := make(chan struct{}, 1)
	wake := func(any) {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	inf, err := s.mgr.GetCache().GetInformer(ctx, &corev1.Namespace{})
	if err != nil {
		return fmt.Errorf("watch namespaces: %w", err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    wake,
		UpdateFunc: func(_, obj any) { wake(obj) },
		DeleteFunc: wake,
	}); err != nil {
		return fmt.Errorf("watch namespaces: %w", err)
	}

	var snapshots <-chan time.Time
	var ticker *time.Ticker
	if s.cfg.Keep {
		ticker = time.NewTicker(5 * time.Second)
		snapshots = ticker.C
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-snapshots:
				if err := s.saveVCenter(ctx); err != nil && ctx.Err() == nil {
					s.log.Error(err, "unable to save vCenter state")
				}
			case <-kick:
				namespaces, err := s.syncNamespaces(ctx, written)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					s.log.Error(err, "unable to update kubeconfig contexts; retrying")
					time.AfterFunc(2*time.Second, func() { wake(nil) })
					continue
				}
				written = namespaces
			}
		}
	}()
	return nil
}

// syncNamespaces binds the developer in every mirrored namespace and rewrites the kubeconfig
// when the namespaces differ from those last written. It returns the namespaces now written.
func (s *Supervisor) syncNamespaces(ctx context.Context, written []string) ([]string, error) {
	namespaces, err := s.mirroredNamespaces(ctx)
	if err != nil {
		return written, err
	}
	for _, ns := range namespaces {
		if !slices.Contains(written, ns) {
			if err := ensureDeveloperBindings(ctx, s.mgr.GetClient(), ns); err != nil {
				return written, err
			}
		}
	}
	if slices.Equal(namespaces, written) {
		return written, nil
	}
	if err := s.kubeconfig.write(namespaces, false); err != nil {
		return written, err
	}
	for _, ns := range namespaces {
		if !slices.Contains(written, ns) {
			s.log.Info("namespace appeared; kubeconfig contexts added", "namespace", ns, "contexts", []string{ns, developerContextPrefix + ns})
		}
	}
	for _, ns := range written {
		if !slices.Contains(namespaces, ns) {
			s.log.Info("namespace gone; kubeconfig contexts removed", "namespace", ns)
		}
	}
	return namespaces, nil
}

// mirroredNamespaces lists, sorted, the live Namespaces the vCenter sync created: the ones a
// user of a supervisor gets a context for (not default, kube-system and the like).
func (s *Supervisor) mirroredNamespaces(ctx context.Context) ([]string, error) {
	var list corev1.NamespaceList
	if err := s.mgr.GetClient().List(ctx, &list, client.HasLabels{vmopv1.VCenterSyncLabel}); err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		if ns.DeletionTimestamp.IsZero() {
			names = append(names, ns.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}
