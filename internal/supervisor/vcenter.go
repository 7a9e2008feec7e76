package supervisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"

	"github.com/vmware/govmomi/vapi/namespace"

	"github.com/vm-service/vm-service/internal/vcsim"
)

// VCenterUsername is the simulator's user, vCenter's built-in administrator.
const VCenterUsername = "administrator@vsphere.local"

// ContentLibrary is the content library the supervisor seeds and the manager reads images from.
const ContentLibrary = "vm-service-images"

// Images are what the content library holds on a fresh supervisor: one Photon image per Tanzu
// Kubernetes release of the walkthrough (the image sync turns each into a VirtualMachineImage
// and a TanzuKubernetesRelease) and one plain Ubuntu image for VMs.
func Images() []vcsim.ImageSpec {
	images := []vcsim.ImageSpec{
		releaseImage("v1.19.7", "vmware.1-tkg.1.fc82c41"),
		releaseImage("v1.20.2", "vmware.1-tkg.2.3e10706"),
	}
	return append(images, vcsim.ImageSpec{
		Name:        "ubuntu-20-1633387172196",
		Description: "Ubuntu 20.04 for VirtualMachines",
		OSType:      "ubuntu64Guest",
		// The vApp properties Ubuntu's cloud images declare, which OvfEnv guest data sets.
		Properties: []vcsim.Property{
			{Key: "instance-id", Default: "id-ovf"},
			{Key: "hostname", Default: "ubuntuguest"},
			{Key: "seedfrom"},
			{Key: "public-keys"},
			{Key: "user-data"},
			{Key: "password"},
		},
	})
}

// NewerRelease is a release newer than the walkthrough's, kept out of the library so the
// walkthrough's v1.20.2 cluster has no update, as in the seed: an admin publishes it with
// `govc library.import` (the supervisor writes its descriptor under Paths.Releases), and the
// cluster can then be upgraded to it.
func NewerRelease() vcsim.ImageSpec { return releaseImage("v1.21.6", "vmware.1-tkg.1.b3d708a") }

// releaseImage is the Photon image of a Tanzu Kubernetes release.
func releaseImage(version, build string) vcsim.ImageSpec {
	full := version + "+" + build
	return vcsim.ImageSpec{
		// Item names cannot hold '+', so the release's build metadata follows '---', as in the
		// images VMware publishes.
		Name:        "photon-3-k8s-" + version + "---" + build,
		Description: "Photon OS 3 with Kubernetes " + full,
		OSType:      "vmwarePhoton64Guest",
		Product:     "Tanzu Kubernetes Grid",
		Vendor:      "VMware",
		Version:     version,
		FullVersion: full,
	}
}

// vcenterState is what a kept supervisor remembers of the simulator between runs. The simulator
// is in-memory, so without it a restart would find vCenter empty and the sync would delete every
// Namespace, class and binding that etcd kept.
type vcenterState struct {
	Classes    []namespace.VirtualMachineClassInfo `json:"classes"`
	Namespaces []savedNamespace                    `json:"namespaces"`
}

type savedNamespace struct {
	Name    string                  `json:"name"`
	Cluster string                  `json:"cluster"`
	Spec    namespace.VmServiceSpec `json:"vmServiceSpec"`
	Storage []namespace.StorageSpec `json:"storageSpecs,omitempty"`
}

// startVCenter starts the simulator on the configured port and gives it the inventory of a
// fresh supervisor, or the one a kept supervisor saved.
func (s *Supervisor) startVCenter(ctx context.Context) error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.VCenterPort))
	// Every namespace gets vSAN's default policy, which the walkthrough's manifests name, unless
	// the admin assigns others (govc namespace.create -storage).
	password, err := s.vcenterPassword()
	if err != nil {
		return err
	}
	sim, err := vcsim.StartWith(vcsim.Options{
		Addr: addr, DefaultStoragePolicy: vcsim.VSANDefaultPolicyID,
		Login: url.UserPassword(VCenterUsername, password),
	})
	if err != nil {
		return fmt.Errorf("start the vCenter simulator on %s (pass --vcenter-port to use another port): %w", addr, err)
	}
	s.sim = sim

	rc, err := sim.RestClient(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Logout(ctx) }()
	m := namespace.NewManager(rc)

	// The simulator keeps namespaces and classes in process-wide state, so a supervisor started
	// again in the same process (as the specs do) would inherit the previous one's: clear it.
	if err := clearVCenter(ctx, m); err != nil {
		return err
	}
	restored := false
	if s.cfg.Keep {
		if restored, err = restoreVCenter(ctx, m, s.paths.VCenterState); err != nil {
			return err
		}
	}
	if restored {
		s.log.Info("restored vCenter namespaces and VM classes", "file", s.paths.VCenterState)
	} else if err := sim.DefineStockClasses(ctx); err != nil {
		return err
	}
	if err := sim.SeedLibrary(ctx, ContentLibrary, Images()...); err != nil {
		return fmt.Errorf("seed content library %s: %w", ContentLibrary, err)
	}
	s.log.Info("vCenter simulator serving", "url", s.vcenterURL(), "cluster", vcsim.ClusterName, "contentLibrary", ContentLibrary)
	return nil
}

// clearVCenter deletes every namespace and VM class the simulator holds.
func clearVCenter(ctx context.Context, m *namespace.Manager) error {
	namespaces, err := m.ListNamespaces(ctx)
	if err != nil {
		return fmt.Errorf("list vCenter namespaces: %w", err)
	}
	for _, ns := range namespaces {
		if err := m.DeleteNamespace(ctx, ns.Namespace); err != nil {
			return fmt.Errorf("delete vCenter namespace %s: %w", ns.Namespace, err)
		}
	}
	classes, err := m.ListVmClasses(ctx)
	if err != nil {
		return fmt.Errorf("list vCenter VM classes: %w", err)
	}
	for _, c := range classes {
		if err := m.DeleteVmClass(ctx, c.Id); err != nil {
			return fmt.Errorf("delete vCenter VM class %s: %w", c.Id, err)
		}
	}
	return nil
}

// saveVCenter writes the simulator's namespaces (with their assigned classes) and VM classes to
// file, for restoreVCenter at the next kept start.
func (s *Supervisor) saveVCenter(ctx context.Context) error {
	rc, err := s.sim.RestClient(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Logout(ctx) }()
	m := namespace.NewManager(rc)

	var state vcenterState
	if state.Classes, err = m.ListVmClasses(ctx); err != nil {
		return fmt.Errorf("list vCenter VM classes: %w", err)
	}
	summaries, err := m.ListNamespaces(ctx)
	if err != nil {
		return fmt.Errorf("list vCenter namespaces: %w", err)
	}
	for _, sum := range summaries {
		info, err := m.GetNamespace(ctx, sum.Namespace)
		if err != nil {
			return fmt.Errorf("read vCenter namespace %s: %w", sum.Namespace, err)
		}
		state.Namespaces = append(state.Namespaces, savedNamespace{Name: sum.Namespace, Cluster: info.ClusterId, Spec: info.VmServiceSpec, Storage: info.StorageSpecs})
	}
	data, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return fmt.Errorf("encode vCenter state: %w", err)
	}
	return writeFileAtomic(s.paths.VCenterState, data, 0o600)
}

// restoreVCenter recreates what saveVCenter wrote; it reports false when there was nothing saved.
func restoreVCenter(ctx context.Context, m *namespace.Manager, file string) (bool, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read saved vCenter state: %w", err)
	}
	var state vcenterState
	if err := json.Unmarshal(data, &state); err != nil {
		return false, fmt.Errorf("saved vCenter state %s is unreadable (start without --keep for a clean state): %w", file, err)
	}
	for _, c := range state.Classes {
		spec := namespace.VirtualMachineClassCreateSpec{
			Id: c.Id, CpuCount: c.CpuCount, MemoryMb: c.MemoryMb,
			CpuReservation: c.CpuReservation, MemoryReservation: c.MemoryReservation,
			Devices: c.Devices, ConfigSpec: c.ConfigSpec,
		}
		if err := m.CreateVmClass(ctx, spec); err != nil {
			return false, fmt.Errorf("restore vCenter VM class %s: %w", c.Id, err)
		}
	}
	for _, ns := range state.Namespaces {
		spec := namespace.NamespacesInstanceCreateSpec{Cluster: ns.Cluster, Namespace: ns.Name, VmServiceSpec: ns.Spec, StorageSpecs: ns.Storage}
		if err := m.CreateNamespace(ctx, spec); err != nil {
			return false, fmt.Errorf("restore vCenter namespace %s: %w", ns.Name, err)
		}
	}
	return true, nil
}

// vcenterPassword is the password kept in the state directory or, when there is none, a new
// random one: vcsim's default ("pass") would let anyone who guesses it in, and is too common a
// word to find in a log.
func (s *Supervisor) vcenterPassword() (string, error) {
	if data, err := os.ReadFile(s.paths.VCenterPassword); err == nil && len(data) > 0 {
		return string(data), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the vCenter password: %w", err)
	}
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		return "", fmt.Errorf("draw a vCenter password: %w", err)
	}
	password := hex.EncodeToString(random)
	if err := writeFileAtomic(s.paths.VCenterPassword, []byte(password), 0o600); err != nil {
		return "", fmt.Errorf("keep the vCenter password: %w", err)
	}
	return password, nil
}

// vcenterURL is the simulator's SDK endpoint without credentials.
func (s *Supervisor) vcenterURL() string {
	u := s.sim.URL()
	u.User = nil
	return u.String()
}

// vcenterCredentials are the simulator's login, which only govc.env and the manager receive.
func (s *Supervisor) vcenterCredentials() (username, password string) {
	u := s.sim.URL()
	if u.User == nil {
		return "", ""
	}
	password, _ = u.User.Password()
	return u.User.Username(), password
}
