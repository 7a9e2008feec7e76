package virtualmachineimage_test

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/controllers/virtualmachineimage"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/fakeclient"
)

func TestImageSync(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "image sync suite")
}

// library is a content library whose listing the spec controls.
type library struct {
	items []vsphere.Image
	err   error
}

func (l *library) ListImages(context.Context) ([]vsphere.Image, error) { return l.items, l.err }

var (
	photon = vsphere.Image{Name: "photon-3-k8s-v1.20.2---vmware.1-tkg.2.3e10706", ID: "item-1", Type: "ovf", OSType: "vmwarePhoton64Guest",
		Product: "Tanzu Kubernetes Grid", Version: "v1.20.2", FullVersion: "v1.20.2+vmware.1-tkg.2.3e10706"}
	ubuntu = vsphere.Image{Name: "ubuntu-20-1633387172196", ID: "item-2", Type: "ovf", OSType: "ubuntu64Guest"}
)

var _ = Describe("The content library sync", func() {
	var (
		ctx    = context.Background()
		lib    *library
		c      client.Client
		writes int
		syncer *virtualmachineimage.Syncer
	)
	BeforeEach(func() {
		writes = 0
		lib = &library{items: []vsphere.Image{photon, ubuntu, {Name: "Not_A_Valid_Name"}}}
		count := func() { writes++ }
		c = interceptor.NewClient(fakeclient.New(), interceptor.Funcs{
			Create: func(ctx context.Context, cl client.WithWatch, o client.Object, opts ...client.CreateOption) error {
				count()
				return cl.Create(ctx, o, opts...)
			},
			Update: func(ctx context.Context, cl client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
				count()
				return cl.Update(ctx, o, opts...)
			},
			Delete: func(ctx context.Context, cl client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
				count()
				return cl.Delete(ctx, o, opts...)
			},
		})
		syncer = &virtualmachineimage.Syncer{Client: c, Images: lib}
	})

	It("mirrors every item as an image, and release items as releases booting from them", func() {
		Expect(syncer.Sync(ctx)).To(Succeed())
		images := &vmopv1.VirtualMachineImageList{}
		Expect(c.List(ctx, images)).To(Succeed())
		Expect(images.Items).To(HaveLen(2), "the item with an invalid name is skipped")
		img := &vmopv1.VirtualMachineImage{}
		Expect(c.Get(ctx, client.ObjectKey{Name: photon.Name}, img)).To(Succeed())
		Expect(img.Spec.OSInfo.Type).To(Equal("vmwarePhoton64Guest"))
		Expect(img.Spec.ProductInfo.FullVersion).To(Equal(photon.FullVersion))
		Expect(img.Status.Uuid).To(Equal("item-1"))

		tkr := &runv1.TanzuKubernetesRelease{}
		Expect(c.Get(ctx, client.ObjectKey{Name: "v1.20.2---vmware.1-tkg.2.3e10706"}, tkr)).To(Succeed())
		Expect(tkr.Spec).To(Equal(runv1.TanzuKubernetesReleaseSpec{
			Version: photon.FullVersion, KubernetesVersion: "v1.20.2", NodeImageName: photon.Name}))
		releases := &runv1.TanzuKubernetesReleaseList{}
		Expect(c.List(ctx, releases)).To(Succeed())
		Expect(releases.Items).To(HaveLen(1))
	})

	It("writes nothing when nothing changed", func() {
		Expect(syncer.Sync(ctx)).To(Succeed())
		writes = 0
		Expect(syncer.Sync(ctx)).To(Succeed())
		Expect(writes).To(BeZero())
	})

	It("removes what left the library, never what it did not make, and nothing when the listing fails", func() {
		own := &vmopv1.VirtualMachineImage{ObjectMeta: metav1.ObjectMeta{Name: "hand-made"}, Spec: vmopv1.VirtualMachineImageSpec{Type: "ovf"}}
		Expect(c.Create(ctx, own)).To(Succeed())
		Expect(syncer.Sync(ctx)).To(Succeed())

		lib.err = errors.New("vCenter unreachable")
		Expect(syncer.Sync(ctx)).To(MatchError(ContainSubstring("vCenter unreachable")))
		images := &vmopv1.VirtualMachineImageList{}
		Expect(c.List(ctx, images)).To(Succeed())
		Expect(images.Items).To(HaveLen(3))

		lib.err, lib.items = nil, []vsphere.Image{ubuntu}
		Expect(syncer.Sync(ctx)).To(Succeed())
		Expect(c.List(ctx, images)).To(Succeed())
		Expect(images.Items).To(ConsistOf(HaveField("Name", ubuntu.Name), HaveField("Name", "hand-made")))
		releases := &runv1.TanzuKubernetesReleaseList{}
		Expect(c.List(ctx, releases)).To(Succeed())
		Expect(releases.Items).To(BeEmpty())
	})
})
