package guestdata_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/guestdata"
)

func TestGuestData(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "guest data suite")
}

func decoded(s string) string {
	GinkgoHelper()
	b, err := base64.StdEncoding.DecodeString(s)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

var _ = Describe("ExtraConfig", func() {
	It("passes guestinfo keys through and leaves out every other key, by name", func() {
		r, err := guestdata.Compute(guestdata.Input{Transport: vmopv1.VirtualMachineMetadataExtraConfigTransport, Data: map[string]string{
			"guestinfo.role": "web", "guestinfo.": "empty name", "RUN.container": "evil", "isolation.tools.copy.disable": "FALSE",
		}})
		Expect(err).NotTo(HaveOccurred())
		Expect(r.ExtraConfig).To(Equal(map[string]string{"guestinfo.role": "web"}))
		Expect(r.Ignored).To(Equal([]string{"RUN.container", "guestinfo.", "isolation.tools.copy.disable"}))
	})

	It("treats an empty transport as ExtraConfig", func() {
		r, err := guestdata.Compute(guestdata.Input{Data: map[string]string{"guestinfo.a": "1"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(r.ExtraConfig).To(HaveKeyWithValue("guestinfo.a", "1"))
	})

	Describe("with CloudInit", func() {
		in := func(data map[string]string, network *guestdata.Network) guestdata.Input {
			i := guestdata.Input{Transport: vmopv1.VirtualMachineMetadataCloudInitTransport, Data: data,
				InstanceID: "5d7b3f4c-uid", HostName: "web-1"}
			if network != nil {
				i.NICs = []guestdata.NIC{{IP: network}}
			}
			return i
		}
		metadata := func(r guestdata.Result) map[string]any {
			GinkgoHelper()
			Expect(r.ExtraConfig).To(HaveKeyWithValue("guestinfo.metadata.encoding", "base64"))
			var m map[string]any
			Expect(json.Unmarshal([]byte(decoded(r.ExtraConfig["guestinfo.metadata"])), &m)).To(Succeed())
			return m
		}

		It("hands user data over base64, with metadata naming the instance, host and static network", func() {
			r, err := guestdata.Compute(in(map[string]string{"user-data": "#cloud-config\npackages: [nginx]\n", "other": "x"},
				&guestdata.Network{Address: "127.0.10.5", Netmask: "255.255.255.0", Gateway: "127.0.10.1", DNSServers: []string{"127.0.0.53"}}))
			Expect(err).NotTo(HaveOccurred())
			Expect(r.ExtraConfig).To(HaveKeyWithValue("guestinfo.userdata.encoding", "base64"))
			Expect(decoded(r.ExtraConfig["guestinfo.userdata"])).To(Equal("#cloud-config\npackages: [nginx]\n"))
			Expect(r.Ignored).To(Equal([]string{"other"}))
			m := metadata(r)
			Expect(m).To(HaveKeyWithValue("instance-id", "5d7b3f4c-uid"))
			Expect(m).To(HaveKeyWithValue("local-hostname", "web-1"))
			eth := m["network"].(map[string]any)["ethernets"].(map[string]any)["eth0"].(map[string]any)
			Expect(eth["addresses"]).To(ConsistOf("127.0.10.5/24"))
			Expect(eth["gateway4"]).To(Equal("127.0.10.1"))
			Expect(eth["nameservers"]).To(HaveKeyWithValue("addresses", ConsistOf("127.0.0.53")))
		})

		It("keeps user data that is already base64 as it is", func() {
			enc := base64.StdEncoding.EncodeToString([]byte("#cloud-config\n"))
			r, err := guestdata.Compute(in(map[string]string{"user-data": enc}, nil))
			Expect(err).NotTo(HaveOccurred())
			Expect(r.ExtraConfig["guestinfo.userdata"]).To(Equal(enc))
		})

		It("gives only ssh-public-keys to the default user, and asks DHCP without a static network", func() {
			r, err := guestdata.Compute(in(map[string]string{"ssh-public-keys": "ssh-ed25519 AAAA one\n\nssh-rsa BBBB two\n"}, nil))
			Expect(err).NotTo(HaveOccurred())
			Expect(decoded(r.ExtraConfig["guestinfo.userdata"])).To(Equal(
				"#cloud-config\nssh_authorized_keys:\n  - ssh-ed25519 AAAA one\n  - ssh-rsa BBBB two\n"))
			Expect(r.Ignored).To(BeEmpty())
			eth := metadata(r)["network"].(map[string]any)["ethernets"].(map[string]any)["eth0"].(map[string]any)
			Expect(eth).To(HaveKeyWithValue("dhcp4", true))
		})

		It("still identifies the instance when there is no user data at all", func() {
			r, err := guestdata.Compute(in(map[string]string{}, nil))
			Expect(err).NotTo(HaveOccurred())
			Expect(r.ExtraConfig).NotTo(HaveKey("guestinfo.userdata"))
			Expect(metadata(r)).To(HaveKeyWithValue("instance-id", "5d7b3f4c-uid"))
		})
	})

	It("configures every NIC by its MAC address, with one default route", func() {
		r, err := guestdata.Compute(guestdata.Input{Transport: vmopv1.VirtualMachineMetadataCloudInitTransport, InstanceID: "id", HostName: "h",
			NICs: []guestdata.NIC{
				{MAC: "00:0C:29:00:00:01", IP: &guestdata.Network{Address: "127.0.128.2", Netmask: "255.255.240.0", Gateway: "127.0.128.1"}},
				{MAC: "00:0c:29:00:00:02", IP: &guestdata.Network{Address: "127.0.144.2", Netmask: "255.255.240.0", Gateway: "127.0.144.1"}},
				{MAC: "00:0c:29:00:00:03"},
			}})
		Expect(err).NotTo(HaveOccurred())
		var m struct {
			Network struct {
				Ethernets map[string]map[string]any `json:"ethernets"`
			} `json:"network"`
		}
		Expect(json.Unmarshal([]byte(decoded(r.ExtraConfig["guestinfo.metadata"])), &m)).To(Succeed())
		eth := m.Network.Ethernets
		Expect(eth).To(HaveLen(3))
		Expect(eth["eth0"]).To(And(HaveKeyWithValue("match", HaveKeyWithValue("macaddress", "00:0c:29:00:00:01")),
			HaveKeyWithValue("addresses", ConsistOf("127.0.128.2/20")), HaveKeyWithValue("gateway4", "127.0.128.1")))
		Expect(eth["eth1"]).To(And(HaveKeyWithValue("set-name", "eth1"), HaveKeyWithValue("addresses", ConsistOf("127.0.144.2/20")),
			Not(HaveKey("gateway4"))))
		Expect(eth["eth2"]).To(HaveKeyWithValue("dhcp4", true))
	})

	It("keeps gzipped base64 user data as it is, saying so", func() {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte("#cloud-config\n"))
		Expect(zw.Close()).To(Succeed())
		enc := base64.StdEncoding.EncodeToString(buf.Bytes())
		r, err := guestdata.Compute(guestdata.Input{Transport: vmopv1.VirtualMachineMetadataCloudInitTransport, Data: map[string]string{"user-data": enc}})
		Expect(err).NotTo(HaveOccurred())
		Expect(r.ExtraConfig).To(HaveKeyWithValue("guestinfo.userdata", enc))
		Expect(r.ExtraConfig).To(HaveKeyWithValue("guestinfo.userdata.encoding", "gzip+base64"))
	})

	It("never lets guest data set the key where the product lists what it set", func() {
		r, err := guestdata.Compute(guestdata.Input{Data: map[string]string{guestdata.ManagedKeysKey: "guestinfo.x"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(r.ExtraConfig).To(BeEmpty())
		Expect(r.Ignored).To(ConsistOf(guestdata.ManagedKeysKey))
	})

	It("gives no vApp property a value", func() {
		r, err := guestdata.Compute(guestdata.Input{Data: map[string]string{"guestinfo.a": "1", "hostname": "web"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(r.VAppProperties).To(BeEmpty())
		Expect(r.VAppProperties).NotTo(BeNil(), "an empty map clears values set before; nil would leave them")
	})

	It("refuses an unknown transport", func() {
		_, err := guestdata.Compute(guestdata.Input{Transport: "Floppy"})
		Expect(err).To(MatchError(ContainSubstring(`unknown transport "Floppy"`)))
	})
})

var _ = Describe("OvfEnv", func() {
	It("sets every key as the value of the vApp property with that id, whatever its name", func() {
		r, err := guestdata.Compute(guestdata.Input{Transport: vmopv1.VirtualMachineMetadataOvfEnvTransport, Data: map[string]string{
			"hostname": "web-1", "guestinfo.role": "db", "user-data": "",
		}})
		Expect(err).NotTo(HaveOccurred())
		Expect(r.VAppProperties).To(Equal(map[string]string{"hostname": "web-1", "guestinfo.role": "db", "user-data": ""}))
		Expect(r.Ignored).To(BeEmpty(), "only vSphere knows which properties the image declares")
	})

	It("sets no ExtraConfig key, so keys another transport set before are removed", func() {
		r, err := guestdata.Compute(guestdata.Input{Transport: vmopv1.VirtualMachineMetadataOvfEnvTransport, Data: map[string]string{"guestinfo.role": "db"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(r.ExtraConfig).To(BeEmpty())
		Expect(r.ExtraConfig).NotTo(BeNil())
	})

	It("has nothing to set without data", func() {
		r, err := guestdata.Compute(guestdata.Input{Transport: vmopv1.VirtualMachineMetadataOvfEnvTransport})
		Expect(err).NotTo(HaveOccurred())
		Expect(r).To(Equal(guestdata.None()))
	})
})
