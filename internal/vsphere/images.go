package vsphere

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vim25/soap"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// ovfCacheKey names one version of one item's content.
type ovfCacheKey struct{ itemID, contentVersion string }

// ovfInfo is what ListImages reads from an OVF descriptor.
type ovfInfo struct {
	osType                                string
	product, vendor, version, fullVersion string
}

// ListImages returns every item of the configured content library. For OVF items it also
// reads the descriptor (OS type and product section), caching it per item content version;
// an unreadable descriptor is logged and leaves those fields empty rather than hiding the item.
func (p *GovmomiProvider) ListImages(ctx context.Context) ([]Image, error) {
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("library", p.cfg.ContentLibrary))
	var images []Image
	err := p.session.do(ctx, opListImages, func(ctx context.Context, c *clients) error {
		var err error
		images, err = p.listImages(ctx, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list images in content library %q: %w", p.cfg.ContentLibrary, err)
	}
	return images, nil
}

func (p *GovmomiProvider) listImages(ctx context.Context, c *clients) ([]Image, error) {
	m := library.NewManager(c.rest)
	libID, err := p.libraryID(ctx, c)
	if err != nil {
		return nil, err
	}
	items, err := m.GetLibraryItems(ctx, libID)
	if err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	images := make([]Image, 0, len(items))
	for _, it := range items {
		img := Image{Name: it.Name, ID: it.ID, Type: it.Type, ContentVersion: it.ContentVersion}
		if it.Description != nil {
			img.Description = *it.Description
		}
		if it.Type == library.ItemTypeOVF {
			info, err := p.ovfInfo(ctx, c, it)
			if sessionLost(err) {
				return nil, err
			}
			if err != nil {
				log.FromContext(ctx).Error(err, "cannot read OVF descriptor; listing the image without OS and product information", "image", it.Name)
			}
			img.OSType, img.Product, img.Vendor, img.Version, img.FullVersion =
				info.osType, info.product, info.vendor, info.version, info.fullVersion
		}
		images = append(images, img)
	}
	// The listing is the library as it is now: items gone or renamed are forgotten.
	ids := make(map[string]string, len(images))
	for _, img := range images {
		ids[img.Name] = img.ID
	}
	p.itemsMu.Lock()
	p.itemIDs = ids
	p.itemsMu.Unlock()
	return images, nil
}

// libraryID finds the configured library by name.
func (p *GovmomiProvider) libraryID(ctx context.Context, c *clients) (string, error) {
	ids, err := library.NewManager(c.rest).FindLibrary(ctx, library.Find{Name: p.cfg.ContentLibrary})
	if err != nil {
		return "", fmt.Errorf("find content library %q: %w", p.cfg.ContentLibrary, err)
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("content library %q not found", p.cfg.ContentLibrary)
	}
	return ids[0], nil
}

// libraryItemID finds the item an image name refers to: from the ids the last listing or lookup
// found, else by looking the library and the item up, two REST calls more for every deploy.
func (p *GovmomiProvider) libraryItemID(ctx context.Context, c *clients, image string) (string, error) {
	p.itemsMu.Lock()
	id, ok := p.itemIDs[image]
	p.itemsMu.Unlock()
	if ok {
		return id, nil
	}
	libID, err := p.libraryID(ctx, c)
	if err != nil {
		return "", err
	}
	ids, err := library.NewManager(c.rest).FindLibraryItems(ctx, library.FindItem{LibraryID: libID, Name: image})
	if err != nil {
		return "", fmt.Errorf("find image %q in content library %q: %w", image, p.cfg.ContentLibrary, err)
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("%w: no item %q in content library %q", ErrImageNotFound, image, p.cfg.ContentLibrary)
	}
	p.itemsMu.Lock()
	p.itemIDs[image] = ids[0]
	p.itemsMu.Unlock()
	return ids[0], nil
}

// forgetItem drops the id kept for image, once vCenter said it has no such item.
func (p *GovmomiProvider) forgetItem(image string) {
	p.itemsMu.Lock()
	delete(p.itemIDs, image)
	p.itemsMu.Unlock()
}

// ovfInfo returns the item's descriptor fields, from the cache when the content is unchanged.
func (p *GovmomiProvider) ovfInfo(ctx context.Context, c *clients, it library.Item) (ovfInfo, error) {
	key := ovfCacheKey{it.ID, it.ContentVersion}
	p.ovfMu.Lock()
	info, ok := p.ovfCache[key]
	p.ovfMu.Unlock()
	if ok {
		return info, nil
	}
	info, err := readOVF(ctx, c, it)
	if err != nil {
		return ovfInfo{}, err
	}
	if it.ContentVersion != "" {
		p.ovfMu.Lock()
		p.ovfCache[key] = info
		p.ovfMu.Unlock()
	}
	return info, nil
}

// readOVF downloads the item's .ovf file through a download session and parses it.
func readOVF(ctx context.Context, c *clients, it library.Item) (ovfInfo, error) {
	m := library.NewManager(c.rest)
	files, err := m.ListLibraryItemFiles(ctx, it.ID)
	if err != nil {
		return ovfInfo{}, fmt.Errorf("list files of item %q: %w", it.Name, err)
	}
	name := ""
	for _, f := range files {
		if strings.HasSuffix(strings.ToLower(f.Name), ".ovf") {
			name = f.Name
			break
		}
	}
	if name == "" {
		return ovfInfo{}, fmt.Errorf("item %q has no .ovf file", it.Name)
	}

	sid, err := m.CreateLibraryItemDownloadSession(ctx, library.Session{LibraryItemID: it.ID})
	if err != nil {
		return ovfInfo{}, fmt.Errorf("open download session for item %q: %w", it.Name, err)
	}
	defer func() { _ = m.DeleteLibraryItemDownloadSession(ctx, sid) }()

	file, err := m.PrepareLibraryItemDownloadSessionFile(ctx, sid, name)
	if err != nil {
		return ovfInfo{}, fmt.Errorf("prepare %s of item %q: %w", name, it.Name, err)
	}
	// vCenter prepares files asynchronously; a descriptor is small, so this is quick.
	for delay := 50 * time.Millisecond; file.Status != "PREPARED"; delay *= 2 {
		if file.Status == "ERROR" || delay > 5*time.Second {
			return ovfInfo{}, fmt.Errorf("prepare %s of item %q: status %s", name, it.Name, file.Status)
		}
		select {
		case <-ctx.Done():
			return ovfInfo{}, ctx.Err()
		case <-time.After(delay):
		}
		if file, err = m.GetLibraryItemDownloadSessionFile(ctx, sid, name); err != nil {
			return ovfInfo{}, fmt.Errorf("prepare %s of item %q: %w", name, it.Name, err)
		}
	}
	if file.DownloadEndpoint == nil {
		return ovfInfo{}, fmt.Errorf("no download endpoint for %s of item %q", name, it.Name)
	}
	u, err := url.Parse(file.DownloadEndpoint.URI)
	if err != nil {
		return ovfInfo{}, fmt.Errorf("parse download endpoint of item %q: %w", it.Name, err)
	}
	body, _, err := c.rest.Download(ctx, u, &soap.DefaultDownload)
	if err != nil {
		return ovfInfo{}, fmt.Errorf("download %s of item %q: %w", name, it.Name, err)
	}
	defer func() { _ = body.Close() }()
	env, err := ovf.Unmarshal(body)
	if err != nil {
		return ovfInfo{}, fmt.Errorf("parse %s of item %q: %w", name, it.Name, err)
	}

	var info ovfInfo
	if vs := env.VirtualSystem; vs != nil {
		if os := vs.OperatingSystem; os != nil && os.OSType != nil {
			info.osType = *os.OSType
		}
		if len(vs.Product) > 0 {
			ps := vs.Product[0]
			info.product, info.vendor, info.version, info.fullVersion = ps.Product, ps.Vendor, ps.Version, ps.FullVersion
		}
	}
	return info, nil
}
