package webhookcerts

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestWebhookCerts(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Webhook certificates suite")
}

var _ = Describe("renew", func() {
	hosts := []string{"webhook-service", "webhook-service.ns.svc", "127.0.0.1"}
	o := Options{CAValidity: 30 * time.Hour, CertValidity: 3 * time.Hour}
	start := time.Now()

	It("makes a CA and a certificate for every host, then leaves them until a third of their life is left", func() {
		b, changed, err := renew(nil, hosts, o, start)
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeTrue())
		Expect(valid(b, hosts, start)).To(BeTrue())

		again, changed, err := renew(b.data(), hosts, o, start.Add(time.Hour))
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeFalse())
		Expect(again.cert.Equal(b.cert)).To(BeTrue())

		renewed, changed, err := renew(b.data(), hosts, o, start.Add(2*time.Hour+time.Minute))
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeTrue())
		Expect(renewed.ca.Equal(b.ca)).To(BeTrue(), "the CA is not due")
		Expect(renewed.cert.Equal(b.cert)).To(BeFalse())
	})

	It("renews a certificate for other hosts, and one whose key does not match", func() {
		b, _, err := renew(nil, hosts, o, start)
		Expect(err).NotTo(HaveOccurred())
		_, changed, err := renew(b.data(), append(hosts, "other.example"), o, start)
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeTrue())

		other, _, err := renew(nil, hosts, o, start)
		Expect(err).NotTo(HaveOccurred())
		data := b.data()
		data[keyKey] = other.keyPEM
		_, changed, err = renew(data, hosts, o, start)
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeTrue())
	})

	It("replaces a CA that is due and keeps trusting the old one while it is valid", func() {
		b, _, err := renew(nil, hosts, o, start)
		Expect(err).NotTo(HaveOccurred())
		at := start.Add(21 * time.Hour)
		next, changed, err := renew(b.data(), hosts, o, at)
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeTrue())
		Expect(next.ca.Equal(b.ca)).To(BeFalse())
		cas := decodeCerts(next.caBundle)
		Expect(cas).To(HaveLen(2))
		Expect(cas[0].Equal(next.ca)).To(BeTrue(), "the current CA comes first")
		Expect(cas[1].Equal(b.ca)).To(BeTrue())
		Expect(Verify(next.caBundle, b.cert, "127.0.0.1")).To(Succeed(), "a replica still serving the old certificate stays trusted")

		// Once the old CA has expired it leaves the bundle.
		last, _, err := renew(next.data(), hosts, o, start.Add(41*time.Hour))
		Expect(err).NotTo(HaveOccurred())
		for _, c := range decodeCerts(last.caBundle) {
			Expect(c.Equal(b.ca)).To(BeFalse())
		}
	})
})
