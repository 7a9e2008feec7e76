package manager_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/ownership"
	"github.com/vm-service/vm-service/internal/webhookcerts"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

var _ = Describe("A manager that keeps its own webhook certificate", Ordered, func() {
	const secret = "vm-service-webhook-certs"
	var (
		ns, addr   string
		validating *admissionregistrationv1.ValidatingWebhookConfiguration
		mutating   *admissionregistrationv1.MutatingWebhookConfiguration
	)

	BeforeAll(func() {
		ns = env.NewNamespaceWithoutStorage("webhook-certs")
		grantCertsRole(ns)
		addr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort())
		validating, mutating = webhookConfigurations("https://" + addr)
		for _, c := range []client.Object{validating, mutating} {
			Expect(env.Client.Create(ctx, c)).To(Succeed())
			DeferCleanup(func() { Expect(env.Client.Delete(ctx, c)).To(Succeed()) })
		}
		port := 0
		_, err := fmt.Sscanf(addr, "127.0.0.1:%d", &port)
		Expect(err).NotTo(HaveOccurred())
		env.ManagerForSuite(manager.Options{
			WebhookHost: "127.0.0.1", WebhookPort: port, WebhookCertDir: GinkgoT().TempDir(),
			WebhookCerts: &webhookcerts.Options{
				Namespace: ns, SecretName: secret, ServiceName: "webhook-service", Hosts: []string{"127.0.0.1"},
				ValidatingConfigurations: []string{validating.Name}, MutatingConfigurations: []string{mutating.Name},
				// Short, so the spec sees a renewal: due after 20 seconds.
				CertValidity: 30 * time.Second, CheckInterval: time.Second,
			},
		})
	})

	// caBundles are the caBundles of every webhook, as the apiserver has them now.
	caBundles := func() ([]string, error) {
		var out []string
		v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(validating), v); err != nil {
			return nil, err
		}
		for _, w := range v.Webhooks {
			out = append(out, string(w.ClientConfig.CABundle))
		}
		m := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(mutating), m); err != nil {
			return nil, err
		}
		for _, w := range m.Webhooks {
			out = append(out, string(w.ClientConfig.CABundle))
		}
		return out, nil
	}

	// served is the certificate the webhook server presents now.
	served := func() (*x509.Certificate, error) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // verified below against the caBundle
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0], nil
	}

	// admissionAnswers says the apiserver reached the webhook over TLS: the refusal is the
	// webhook's, not a TLS failure.
	admissionAnswers := func(g Gomega, name string) {
		err := env.Client.Create(ctx, objects.VM(ns, name, "no-such-class", "an-image"))
		g.Expect(err).To(MatchError(ContainSubstring(`VirtualMachineClass "no-such-class" does not exist`)))
	}

	var firstSerial string

	It("makes the CA and certificate, injects the CA into every webhook, and serves a certificate that chains to it", func() {
		s := &corev1.Secret{}
		Eventually(env.Client.Get).WithArguments(ctx, client.ObjectKey{Namespace: ns, Name: secret}, s).Should(Succeed())
		bundle := string(s.Data["ca.crt"])
		Expect(bundle).To(HavePrefix("-----BEGIN CERTIFICATE-----"))
		Eventually(caBundles).Should(And(Not(BeEmpty()), HaveEach(bundle)))

		cert, err := served()
		Expect(err).NotTo(HaveOccurred())
		Expect(webhookcerts.Verify([]byte(bundle), cert, "127.0.0.1")).To(Succeed())
		Expect(cert.DNSNames).To(ContainElement("webhook-service." + ns + ".svc"))
		firstSerial = cert.SerialNumber.String()

		Eventually(admissionAnswers).WithArguments("first").Should(Succeed())
	})

	It("renews the serving certificate before it expires, under the same CA, without a restart", func() {
		bundles, err := caBundles()
		Expect(err).NotTo(HaveOccurred())
		// Due 20 seconds after issue; generous for a busy machine.
		Eventually(func() (string, error) {
			c, err := served()
			if err != nil {
				return "", err
			}
			return c.SerialNumber.String(), nil
		}).WithTimeout(90 * time.Second).ShouldNot(Equal(firstSerial))

		cert, err := served()
		Expect(err).NotTo(HaveOccurred())
		Expect(webhookcerts.Verify([]byte(bundles[0]), cert, "127.0.0.1")).To(Succeed())
		Expect(caBundles()).To(Equal(bundles), "the CA lasts years; only the serving certificate was due")
		Eventually(admissionAnswers).WithArguments("renewed").Should(Succeed())
	})
})

// grantCertsRole gives the manager's user config/rbac's Role for its certificate Secret, in ns.
func grantCertsRole(ns string) {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "webhook_certs_role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	docs := strings.Split(string(data), "\n---\n")
	role := &rbacv1.Role{}
	Expect(yaml.Unmarshal([]byte(docs[0]), role)).To(Succeed())
	role.Namespace = ns
	Expect(env.Client.Create(ctx, role)).To(Succeed())
	Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: ownership.DefaultManager}},
	})).To(Succeed())
}

// webhookConfigurations are config/webhook's configurations as an install leaves them before
// the manager starts: no caBundle. They point at base instead of the Service, since no kubelet
// or service proxy runs here.
func webhookConfigurations(base string) (*admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfiguration) {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "webhook", "manifests.yaml"))
	Expect(err).NotTo(HaveOccurred())
	v, m := &admissionregistrationv1.ValidatingWebhookConfiguration{}, &admissionregistrationv1.MutatingWebhookConfiguration{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		switch {
		case strings.Contains(doc, "kind: ValidatingWebhookConfiguration"):
			Expect(yaml.Unmarshal([]byte(doc), v)).To(Succeed())
			for i := range v.Webhooks {
				pointAt(&v.Webhooks[i].ClientConfig, base)
			}
		case strings.Contains(doc, "kind: MutatingWebhookConfiguration"):
			Expect(yaml.Unmarshal([]byte(doc), m)).To(Succeed())
			for i := range m.Webhooks {
				pointAt(&m.Webhooks[i].ClientConfig, base)
			}
		}
	}
	Expect(v.Webhooks).NotTo(BeEmpty())
	Expect(m.Webhooks).NotTo(BeEmpty())
	return v, m
}

func pointAt(cc *admissionregistrationv1.WebhookClientConfig, base string) {
	Expect(cc.CABundle).To(BeEmpty())
	cc.URL = ptr.To(base + ptr.Deref(cc.Service.Path, "/"))
	cc.Service = nil
}
