package ippool_test

import (
	"fmt"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/internal/ippool"
)

func TestIPPool(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "IP pool suite")
}

var _ = Describe("Pool", func() {
	It("hands out host addresses after the gateway, one per owner, and reuses released ones", func() {
		p, err := ippool.New("10.0.0.0/29")
		Expect(err).NotTo(HaveOccurred())
		Expect(p.Gateway()).To(Equal("10.0.0.1"))
		Expect(p.Netmask()).To(Equal("255.255.255.248"))

		var got []string
		for i := range 5 {
			a, err := p.Allocate(fmt.Sprint(i))
			Expect(err).NotTo(HaveOccurred())
			got = append(got, a)
		}
		Expect(got).To(Equal([]string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}))
		Expect(p.Allocate("0")).To(Equal("10.0.0.2"), "an owner keeps its address")
		_, err = p.Allocate("late")
		Expect(err).To(MatchError(ippool.ErrExhausted))

		p.Release("2")
		Expect(p.Allocate("late")).To(Equal("10.0.0.4"))
	})

	It("keeps addresses reserved from status away from others", func() {
		p, err := ippool.New("10.0.0.0/24")
		Expect(err).NotTo(HaveOccurred())
		p.Reserve("old", "10.0.0.2")
		p.Reserve("thief", "10.0.0.2")    // held by old: ignored
		p.Reserve("outside", "192.0.2.1") // not in the range: ignored
		Expect(p.Allocate("new")).To(Equal("10.0.0.3"))
		Expect(p.Allocate("old")).To(Equal("10.0.0.2"))
		Expect(p.Allocate("outside")).To(Equal("10.0.0.4"))
	})

	DescribeTable("refuses unusable ranges", func(cidr string) {
		_, err := ippool.New(cidr)
		Expect(err).To(MatchError(ContainSubstring("want an IPv4 range")))
	},
		Entry("garbage", "not-a-cidr"),
		Entry("IPv6", "fd00::/64"),
		Entry("too small", "10.0.0.0/31"),
	)
})
