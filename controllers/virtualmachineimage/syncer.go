// Package virtualmachineimage owns the mirror of the vSphere content library into Kubernetes: one
// VirtualMachineImage per library item, and one TanzuKubernetesRelease per item whose product
// full version is a release version (such as v1.20.2+vmware.1-tkg.2.3e10706), booting from it.
// It changes and deletes only what it labelled, and deletes only after a complete listing.
package virtualmachineimage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/tkr"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineimages,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineimages/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=run.tanzu.vmware.com,resources=tanzukubernetesreleases,verbs=get;list;watch;create;update;delete

// syncTimeout bounds one pass over the library.
const syncTimeout = time.Minute

// ImageLister is the part of the vSphere provider the sync needs.
type ImageLister interface {
	ListImages(ctx context.Context) ([]vsphere.Image, error)
}

// Syncer polls the content library and mirrors it. It runs only on the leader.
type Syncer struct {
	Client   client.Client
	Images   ImageLister
	Interval time.Duration
}

// SetupWithManager adds the syncer to the manager.
func (s *Syncer) SetupWithManager(mgr ctrl.Manager) error {
	if s.Client == nil || s.Images == nil || s.Interval <= 0 {
		return errors.New("image sync needs a client, an image lister and an interval")
	}
	return mgr.Add(s)
}

// NeedLeaderElection makes only the leader write images.
func (s *Syncer) NeedLeaderElection() bool { return true }

// Start syncs at once, then every interval, until ctx ends.
func (s *Syncer) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("image-sync")
	ctx = logr.NewContext(ctx, log)
	for {
		// A vCenter that hangs must not stall the sync for good: each pass gets a deadline.
		syncCtx, cancel := context.WithTimeout(ctx, syncTimeout)
		if err := s.Sync(syncCtx); err != nil {
			log.Error(err, "content library sync failed; nothing was deleted, retrying", "interval", s.Interval)
		}
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.Interval):
		}
	}
}

// Sync mirrors the library once.
func (s *Syncer) Sync(ctx context.Context) error {
	items, err := s.Images.ListImages(ctx)
	if err != nil {
		return fmt.Errorf("list content library: %w", err)
	}
	images, releases := desired(ctx, items)
	return errors.Join(s.syncImages(ctx, images), s.syncReleases(ctx, releases))
}

// desired turns library items into the objects that should exist, skipping names Kubernetes
// cannot hold.
func desired(ctx context.Context, items []vsphere.Image) (map[string]*vmopv1.VirtualMachineImage, map[string]*runv1.TanzuKubernetesRelease) {
	log := logr.FromContextOrDiscard(ctx)
	images := map[string]*vmopv1.VirtualMachineImage{}
	releases := map[string]*runv1.TanzuKubernetesRelease{}
	for _, it := range items {
		if errs := validation.IsDNS1123Subdomain(it.Name); len(errs) > 0 {
			log.Info("skipping content library item whose name is not a valid object name", "item", it.Name, "problems", errs)
			continue
		}
		images[it.Name] = imageFor(it)
		if v, err := tkr.Parse(it.FullVersion); err == nil && it.FullVersion != "" {
			r := releaseFor(it.Name, v)
			releases[r.Name] = r
		}
	}
	return images, releases
}

func imageFor(it vsphere.Image) *vmopv1.VirtualMachineImage {
	typ := it.Type
	if typ == "" {
		typ = "ovf"
	}
	return &vmopv1.VirtualMachineImage{
		ObjectMeta: managed(it.Name),
		Spec: vmopv1.VirtualMachineImageSpec{
			Type:            typ,
			ImageSourceType: "Content Library",
			ProductInfo:     vmopv1.VirtualMachineImageProductInfo{Product: it.Product, Vendor: it.Vendor, Version: it.Version, FullVersion: it.FullVersion},
			OSInfo:          vmopv1.VirtualMachineImageOSInfo{Type: it.OSType},
		},
		Status: vmopv1.VirtualMachineImageStatus{Uuid: it.ID, InternalId: it.Name, ImageSupported: ptr.To(true)},
	}
}

func releaseFor(image string, v tkr.Version) *runv1.TanzuKubernetesRelease {
	return &runv1.TanzuKubernetesRelease{
		ObjectMeta: managed(runv1.ReleaseName(v.String())),
		Spec: runv1.TanzuKubernetesReleaseSpec{
			Version:           v.String(),
			KubernetesVersion: v.KubernetesVersion(),
			NodeImageName:     image,
		},
	}
}

func managed(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: map[string]string{vmopv1.ImageSyncLabel: "true"}}
}

func (s *Syncer) syncImages(ctx context.Context, want map[string]*vmopv1.VirtualMachineImage) error {
	have := &vmopv1.VirtualMachineImageList{}
	if err := s.Client.List(ctx, have, client.HasLabels{vmopv1.ImageSyncLabel}); err != nil {
		return fmt.Errorf("list VirtualMachineImages: %w", err)
	}
	return mirror(ctx, s.Client, itemPointers(have.Items), want, func(cur, w *vmopv1.VirtualMachineImage) error {
		var errs []error
		if !equality.Semantic.DeepEqual(cur.Spec, w.Spec) {
			cur.Spec = w.Spec
			errs = append(errs, s.Client.Update(ctx, cur))
		}
		if !equality.Semantic.DeepEqual(cur.Status, w.Status) {
			cur.Status = w.Status
			errs = append(errs, s.Client.Status().Update(ctx, cur))
		}
		return errors.Join(errs...)
	}, func(created, w *vmopv1.VirtualMachineImage) error {
		created.Status = w.Status // create drops status; write it in a second step
		return s.Client.Status().Update(ctx, created)
	})
}

func (s *Syncer) syncReleases(ctx context.Context, want map[string]*runv1.TanzuKubernetesRelease) error {
	have := &runv1.TanzuKubernetesReleaseList{}
	if err := s.Client.List(ctx, have, client.HasLabels{vmopv1.ImageSyncLabel}); err != nil {
		return fmt.Errorf("list TanzuKubernetesReleases: %w", err)
	}
	return mirror(ctx, s.Client, itemPointers(have.Items), want, func(cur, w *runv1.TanzuKubernetesRelease) error {
		if equality.Semantic.DeepEqual(cur.Spec, w.Spec) {
			return nil
		}
		cur.Spec = w.Spec
		return s.Client.Update(ctx, cur)
	}, nil)
}

// mirror makes the labelled objects of one kind match want: it deletes the ones not wanted,
// brings the others up to date with update, and creates what is missing, then calls created
// (when set) on each new object.
func mirror[T client.Object](ctx context.Context, c client.Client, have []T, want map[string]T, update, created func(cur, want T) error) error {
	var errs []error
	for _, cur := range have {
		w, ok := want[cur.GetName()]
		delete(want, cur.GetName())
		if !ok {
			errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, cur)))
			continue
		}
		errs = append(errs, update(cur, w))
	}
	for _, w := range want {
		obj := w.DeepCopyObject().(T)
		err := c.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			logr.FromContextOrDiscard(ctx).Info("an object not made by the sync has this name; leaving it alone", "kind", fmt.Sprintf("%T", w), "name", w.GetName())
			continue
		}
		if err == nil && created != nil {
			err = created(obj, w)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func itemPointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
