package vcsim

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"text/template"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25/soap"
)

// ImageSpec is a VM image to seed into a content library. The simulator cannot export images
// from VMs, so images are made from a hand-written OVF descriptor: no disks, just the guest OS,
// product information, CPU and memory, and one network card (so guest customization with a
// fixed IP has a NIC to configure).
type ImageSpec struct {
	// Name is the library item name, which is what a VirtualMachineImage is called.
	Name string
	// Description is the library item description.
	Description string
	// OSType is the vSphere guest id, such as vmwarePhoton64Guest; otherLinux64Guest when empty.
	OSType string
	// Product, Vendor, Version and FullVersion fill the OVF ProductSection, such as
	// "Tanzu Kubernetes Grid", "VMware", "v1.20.2" and "v1.20.2+vmware.1-tkg.2.3e10706".
	Product, Vendor, Version, FullVersion string
	// CPUs and MemoryMiB size the VM the image deploys as; 2 and 2048 when zero.
	CPUs      int32
	MemoryMiB int64
	// Properties are the OVF vApp properties the image declares in its ProductSection, which a
	// VM deployed from it carries in config.vAppConfig.
	Properties []Property
}

// Property is one string vApp property an image declares.
type Property struct {
	// Key is the property's ovf:key, its id in vSphere.
	Key string
	// Default is the value the guest sees while the VM sets none.
	Default string
	// Fixed properties are not user-configurable: only the image decides their value.
	Fixed bool
}

// ovfTemplate is the smallest descriptor the simulator's OVF manager (and a real vCenter)
// accepts for a diskless VM. Values are XML-escaped by the template's xml func.
var ovfTemplate = template.Must(template.New("ovf").Funcs(template.FuncMap{"xml": xmlEscape}).Parse(
	`<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References/>
  <NetworkSection>
    <Info>The networks the VM connects to</Info>
    <Network ovf:name="nic0"><Description>The primary network</Description></Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{{xml .Name}}">
    <Info>A virtual machine</Info>
    <Name>{{xml .Name}}</Name>
    <ProductSection>
      <Info>What the image contains</Info>
      <Product>{{xml .Product}}</Product>
      <Vendor>{{xml .Vendor}}</Vendor>
      <Version>{{xml .Version}}</Version>
      <FullVersion>{{xml .FullVersion}}</FullVersion>
{{- range .Properties}}
      <Property ovf:key="{{xml .Key}}" ovf:type="string" ovf:userConfigurable="{{not .Fixed}}" ovf:value="{{xml .Default}}"/>
{{- end}}
    </ProductSection>
    <OperatingSystemSection ovf:id="100" vmw:osType="{{xml .OSType}}">
      <Info>The guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{{xml .Name}}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>{{.CPUs}} virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.CPUs}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>{{.MemoryMiB}}MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.MemoryMiB}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>nic0</rasd:Connection>
        <rasd:ElementName>ethernet0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`))

func xmlEscape(s string) (string, error) {
	var b bytes.Buffer
	err := xml.EscapeText(&b, []byte(s))
	return b.String(), err
}

// OVF returns the image's OVF descriptor, with defaults filled in. The local supervisor can
// also write it to a file for `govc library.import`.
func (i ImageSpec) OVF() ([]byte, error) {
	if i.OSType == "" {
		i.OSType = "otherLinux64Guest"
	}
	if i.CPUs == 0 {
		i.CPUs = 2
	}
	if i.MemoryMiB == 0 {
		i.MemoryMiB = 2048
	}
	var b bytes.Buffer
	if err := ovfTemplate.Execute(&b, i); err != nil {
		return nil, fmt.Errorf("render OVF for image %s: %w", i.Name, err)
	}
	return b.Bytes(), nil
}

// SeedLibrary makes sure a local content library named libraryName exists on the simulator's
// datastore and holds one OVF item per image. It is idempotent: an existing library is reused
// and items that already exist by name are left alone, so a restarted supervisor can call it
// again.
func (s *Simulator) SeedLibrary(ctx context.Context, libraryName string, images ...ImageSpec) error {
	rc, err := s.RestClient(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Logout(ctx) }()

	libID, err := s.ensureLibrary(ctx, rc, libraryName)
	if err != nil {
		return err
	}
	m := library.NewManager(rc)
	for _, img := range images {
		ids, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: libID, Name: img.Name})
		if err != nil {
			return fmt.Errorf("find item %s in library %s: %w", img.Name, libraryName, err)
		}
		if len(ids) > 0 {
			continue
		}
		if err := importImage(ctx, rc, libID, img); err != nil {
			return fmt.Errorf("import image %s into library %s: %w", img.Name, libraryName, err)
		}
	}
	return nil
}

// ensureLibrary returns the id of the library named name, creating it on the default datastore.
func (s *Simulator) ensureLibrary(ctx context.Context, rc *rest.Client, name string) (string, error) {
	m := library.NewManager(rc)
	libs, err := m.GetLibraries(ctx)
	if err != nil {
		return "", fmt.Errorf("list content libraries: %w", err)
	}
	for _, l := range libs {
		if l.Name == name {
			return l.ID, nil
		}
	}

	c, err := s.Client(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Logout(ctx) }()
	finder := find.NewFinder(c.Client, false)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return "", fmt.Errorf("find datacenter: %w", err)
	}
	finder.SetDatacenter(dc)
	ds, err := finder.DefaultDatastore(ctx)
	if err != nil {
		return "", fmt.Errorf("find datastore for library %s: %w", name, err)
	}

	id, err := m.CreateLibrary(ctx, library.Library{
		Name: name,
		Type: "LOCAL",
		Storage: []library.StorageBacking{{
			DatastoreID: ds.Reference().Value,
			Type:        "DATASTORE",
		}},
	})
	if err != nil {
		return "", fmt.Errorf("create content library %s: %w", name, err)
	}
	return id, nil
}

// importImage creates an OVF item and pushes its descriptor through an update session, the
// same way `govc library.import` does.
func importImage(ctx context.Context, rc *rest.Client, libID string, img ImageSpec) error {
	desc, err := img.OVF()
	if err != nil {
		return err
	}
	m := library.NewManager(rc)
	itemID, err := m.CreateLibraryItem(ctx, library.Item{
		Name:        img.Name,
		Description: &img.Description,
		Type:        library.ItemTypeOVF,
		LibraryID:   libID,
	})
	if err != nil {
		return fmt.Errorf("create item: %w", err)
	}
	session, err := m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		return fmt.Errorf("create update session: %w", err)
	}
	file, err := m.AddLibraryItemFile(ctx, session, library.UpdateFile{
		Name:       img.Name + ".ovf",
		SourceType: "PUSH",
		Size:       int64(len(desc)),
	})
	if err != nil {
		_ = m.FailLibraryItemUpdateSession(ctx, session)
		return fmt.Errorf("add OVF file: %w", err)
	}
	u, err := url.Parse(file.UploadEndpoint.URI)
	if err != nil {
		_ = m.FailLibraryItemUpdateSession(ctx, session)
		return fmt.Errorf("parse upload endpoint: %w", err)
	}
	p := soap.DefaultUpload
	p.ContentLength = int64(len(desc))
	if err := rc.Upload(ctx, bytes.NewReader(desc), u, &p); err != nil {
		_ = m.FailLibraryItemUpdateSession(ctx, session)
		return fmt.Errorf("upload OVF: %w", err)
	}
	if err := m.CompleteLibraryItemUpdateSession(ctx, session); err != nil {
		return fmt.Errorf("complete update session: %w", err)
	}
	return nil
}
