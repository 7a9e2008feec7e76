package vsphere_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/internal/vsphere"
)

var _ = DescribeTable("Config.Endpoint reads the vCenter address as govmomi does, without credentials",
	func(raw, want string) {
		u, err := vsphere.Config{URL: raw}.Endpoint()
		Expect(err).NotTo(HaveOccurred())
		Expect(u.String()).To(Equal(want))
	},
	Entry("a bare host name", "vcenter.example.com", "https://vcenter.example.com/sdk"),
	Entry("host and port", "10.0.0.1:443", "https://10.0.0.1:443/sdk"),
	Entry("a full URL with a password in it", "https://admin:secret@vcenter.example.com/sdk", "https://vcenter.example.com/sdk"),
)
