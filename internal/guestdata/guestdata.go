// Package guestdata turns a VirtualMachine's guest data (the data of a ConfigMap or Secret and a
// transport) into the vSphere ExtraConfig keys the guest reads: plain guestinfo keys, or the
// user data and metadata of cloud-init's VMware datasource. It decides only what the keys are;
// the vSphere provider applies them.
package guestdata

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
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
	// Network is the first NIC's static configuration; nil means DHCP.
	Network *Network
}

// Network is a static IPv4 configuration.
type Network struct {
	Address, Netmask, Gateway string
	DNSServers                []string
}

// Result is the ExtraConfig keys to set, and the data keys left out with why.
type Result struct {
	ExtraConfig map[string]string
	// Ignored names, sorted, the data keys that were not applied.
	Ignored []string
}

// ExtraConfig computes the ExtraConfig keys for in.
func ExtraConfig(in Input) (Result, error) {
	switch in.Transport {
	case vmopv1.VirtualMachineMetadataExtraConfigTransport, "":
		return extraConfig(in.Data), nil
	case vmopv1.VirtualMachineMetadataCloudInitTransport:
		return cloudInit(in)
	}
	return Result{}, fmt.Errorf("transport %q does not set ExtraConfig", in.Transport)
}

// extraConfig passes guestinfo keys through and leaves out every other key.
func extraConfig(data map[string]string) Result {
	r := Result{ExtraConfig: map[string]string{}}
	for k, v := range data {
		if strings.HasPrefix(k, GuestInfoPrefix) && len(k) > len(GuestInfoPrefix) {
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
	r := Result{ExtraConfig: map[string]string{}}
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
		r.ExtraConfig["guestinfo.userdata"] = encode(userData)
		r.ExtraConfig["guestinfo.userdata.encoding"] = "base64"
	}
	meta, err := metadata(in)
	if err != nil {
		return Result{}, err
	}
	r.ExtraConfig["guestinfo.metadata"] = base64.StdEncoding.EncodeToString(meta)
	r.ExtraConfig["guestinfo.metadata.encoding"] = "base64"
	return r, nil
}

// encode base64-encodes user data, unless it already is: upstream manifests often carry it so.
func encode(s string) string {
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s)); err == nil && len(b) > 0 && utf8.Valid(b) {
		return strings.TrimSpace(s)
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
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
// version 2) for the first NIC.
func metadata(in Input) ([]byte, error) {
	eth := map[string]any{"match": map[string]string{"name": "e*"}, "set-name": "eth0"}
	if n := in.Network; n != nil {
		mask, err := netip.ParseAddr(n.Netmask)
		if err != nil {
			return nil, fmt.Errorf("netmask %q: %w", n.Netmask, err)
		}
		eth["addresses"] = []string{fmt.Sprintf("%s/%d", n.Address, prefixLength(mask))}
		if n.Gateway != "" {
			eth["gateway4"] = n.Gateway
		}
		if len(n.DNSServers) > 0 {
			eth["nameservers"] = map[string][]string{"addresses": n.DNSServers}
		}
	} else {
		eth["dhcp4"] = true
	}
	return json.Marshal(map[string]any{
		"instance-id":    in.InstanceID,
		"local-hostname": in.HostName,
		"network":        map[string]any{"version": 2, "ethernets": map[string]any{"eth0": eth}},
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
