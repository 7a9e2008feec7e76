// Package guestdata turns a VirtualMachine's guest data (the data of a ConfigMap or Secret and a
// transport) into what vSphere hands the guest: ExtraConfig keys (plain guestinfo keys, or the
// user data and metadata of cloud-init's VMware datasource) or the values of the image's OVF vApp
// properties. It decides only what they are; the vSphere provider applies them.
package guestdata

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"strings"
	"unicode/utf8"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// GuestInfoPrefix starts every ExtraConfig key the product ever sets from guest data: other keys
// could change how vSphere runs the VM.
const GuestInfoPrefix = "guestinfo."

// Keys of the data that the CloudInit transport reads.
const (
	UserDataKey      = "user-data"
	SSHPublicKeysKey = "ssh-public-keys"
)

// Input is what the guest data of one VM is made from.
type Input struct {
	Transport vmopv1.VirtualMachineMetadataTransport
	// Data is the ConfigMap's or Secret's data.
	Data map[string]string
	// InstanceID and HostName identify the VM to cloud-init.
	InstanceID, HostName string
	// NICs are the VM's network cards in device order; none describes one NIC with DHCP.
	NICs []NIC
}

// NIC is one network card as cloud-init's network configuration names it.
type NIC struct {
	// MAC is the card's address, which the guest matches it by; empty matches the guest's
	// first ethernet interface, for a VM whose cards vSphere has not made yet.
	MAC string
	// IP is its static configuration; nil means DHCP.
	IP *Network
}

// Network is a static IPv4 configuration.
type Network struct {
	Address, Netmask, Gateway string
	DNSServers                []string
}

// Result is what the guest data sets in vSphere, and the data keys left out with why.
type Result struct {
	// ExtraConfig is every ExtraConfig key the guest data sets; keys set before and missing
	// now are removed.
	ExtraConfig map[string]string
	// VAppProperties are the values of the VM's user-configurable vApp properties, by property
	// id; a property not listed has no value, so the guest sees the default its OVF declares.
	// Only OvfEnv lists any. Whether the image declares a key is known only to vSphere, so keys
	// it does not declare are found by the provider, not here.
	VAppProperties map[string]string
	// Ignored names, sorted, the data keys that were not applied.
	Ignored []string
}

// Compute decides what in's transport sets from its data.
func Compute(in Input) (Result, error) {
	switch in.Transport {
	case vmopv1.VirtualMachineMetadataExtraConfigTransport, "":
		return extraConfig(in.Data), nil
	case vmopv1.VirtualMachineMetadataCloudInitTransport:
		return cloudInit(in)
	case vmopv1.VirtualMachineMetadataOvfEnvTransport:
		return ovfEnv(in.Data), nil
	}
	return Result{}, fmt.Errorf("unknown transport %q", in.Transport)
}

// None is the guest data of a VM without any: it removes what guest data set before.
func None() Result {
	return Result{ExtraConfig: map[string]string{}, VAppProperties: map[string]string{}}
}

// ovfEnv sets each key of the data as the value of the vApp property with that id, and no
// ExtraConfig key.
func ovfEnv(data map[string]string) Result {
	r := None()
	maps.Copy(r.VAppProperties, data)
	return r
}

// ManagedKeysKey is the ExtraConfig key where the product lists the keys it set from guest data;
// it is never set from guest data itself.
const ManagedKeysKey = "guestinfo.vmservice.keys"

// extraConfig passes guestinfo keys through and leaves out every other key.
func extraConfig(data map[string]string) Result {
	r := None()
	for k, v := range data {
		if strings.HasPrefix(k, GuestInfoPrefix) && len(k) > len(GuestInfoPrefix) && k != ManagedKeysKey {
			r.ExtraConfig[k] = v
		} else {
			r.Ignored = append(r.Ignored, k)
		}
	}
	sort.Strings(r.Ignored)
	return r
}

// cloudInit sets guestinfo.userdata and guestinfo.metadata, base64 with their .encoding keys, as
// cloud-init's VMware datasource reads them.
func cloudInit(in Input) (Result, error) {
	r := None()
	userData, hasUserData := in.Data[UserDataKey]
	if !hasUserData {
		if keys := sshKeys(in.Data[SSHPublicKeysKey]); len(keys) > 0 {
			// Only keys: give them to the image's default user.
			userData = "#cloud-config\nssh_authorized_keys:\n"
			for _, k := range keys {
				userData += "  - " + k + "\n"
			}
		}
	}
	for k := range in.Data {
		if k != UserDataKey && k != SSHPublicKeysKey {
			r.Ignored = append(r.Ignored, k)
		}
	}
	sort.Strings(r.Ignored)
	if userData != "" {
		r.ExtraConfig["guestinfo.userdata"], r.ExtraConfig["guestinfo.userdata.encoding"] = encode(userData)
	}
	meta, err := metadata(in)
	if err != nil {
		return Result{}, err
	}
	r.ExtraConfig["guestinfo.metadata"] = base64.StdEncoding.EncodeToString(meta)
	r.ExtraConfig["guestinfo.metadata.encoding"] = "base64"
	return r, nil
}

// encode base64-encodes user data, unless it already is (upstream manifests often carry it so,
// sometimes gzipped), and names the encoding for the datasource.
func encode(s string) (value, encoding string) {
	trimmed := strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(trimmed); err == nil && len(b) > 0 {
		switch {
		case len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b:
			return trimmed, "gzip+base64"
		case utf8.Valid(b):
			return trimmed, "base64"
		}
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), "base64"
}

func sshKeys(s string) []string {
	var keys []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			keys = append(keys, line)
		}
	}
	return keys
}

// metadata is the datasource's instance metadata: identity and a network configuration (netplan
// version 2) with one entry per NIC, matched by MAC address.
func metadata(in Input) ([]byte, error) {
	nics := in.NICs
	if len(nics) == 0 {
		nics = []NIC{{}}
	}
	ethernets := map[string]any{}
	for i, nic := range nics {
		eth := map[string]any{"set-name": fmt.Sprintf("eth%d", i)}
		if nic.MAC != "" {
			eth["match"] = map[string]string{"macaddress": strings.ToLower(nic.MAC)}
		} else {
			eth["match"] = map[string]string{"name": "e*"}
		}
		if n := nic.IP; n != nil {
			mask, err := netip.ParseAddr(n.Netmask)
			if err != nil {
				return nil, fmt.Errorf("netmask %q: %w", n.Netmask, err)
			}
			eth["addresses"] = []string{fmt.Sprintf("%s/%d", n.Address, prefixLength(mask))}
			if n.Gateway != "" && i == 0 { // one default route, through the first NIC
				eth["gateway4"] = n.Gateway
			}
			if len(n.DNSServers) > 0 {
				eth["nameservers"] = map[string][]string{"addresses": n.DNSServers}
			}
		} else {
			eth["dhcp4"] = true
		}
		ethernets[fmt.Sprintf("eth%d", i)] = eth
	}
	return json.Marshal(map[string]any{
		"instance-id":    in.InstanceID,
		"local-hostname": in.HostName,
		"network":        map[string]any{"version": 2, "ethernets": ethernets},
	})
}

func prefixLength(mask netip.Addr) int {
	n := 0
	for _, b := range mask.AsSlice() {
		for ; b&0x80 != 0; b <<= 1 {
			n++
		}
	}
	return n
}
