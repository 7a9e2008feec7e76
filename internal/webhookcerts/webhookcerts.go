// Package webhookcerts gives the manager's webhook server a serving certificate with no manual
// step: it keeps a CA and a serving certificate in a Secret, writes the certificate to the webhook
// server's directory, puts the CA into the webhook configurations' caBundle, and renews both
// before they expire. Every replica runs it; they share the Secret, so they serve certificates of
// one CA.
package webhookcerts

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The Secret's keys: the webhook server's files, plus the CA that signs them.
const (
	caCertKey = "ca.crt" // the current CA first, then older CAs still valid (the caBundle)
	caKeyKey  = "ca.key"
	certKey   = corev1.TLSCertKey
	keyKey    = corev1.TLSPrivateKeyKey
)

// Options say where the certificate lives and who must trust it.
type Options struct {
	// Namespace and SecretName name the Secret holding the CA and the serving certificate.
	Namespace, SecretName string
	// ServiceName is the webhook Service in Namespace; the certificate is valid for its DNS names.
	ServiceName string
	// Hosts are more names or IP addresses the certificate is valid for (an out-of-cluster run).
	Hosts []string
	// CertDir is where the webhook server reads tls.crt and tls.key.
	CertDir string
	// ValidatingConfigurations and MutatingConfigurations get the CA in every webhook's caBundle.
	ValidatingConfigurations, MutatingConfigurations []string
	// CAValidity and CertValidity are how long new certificates last (default 10 years and 1
	// year); each is renewed once less than a third of its validity is left.
	CAValidity, CertValidity time.Duration
	// CheckInterval is how often the certificates are checked (default: an hour, or a tenth of
	// CertValidity when shorter).
	CheckInterval time.Duration
}

func (o *Options) defaults() {
	if o.CAValidity == 0 {
		o.CAValidity = 10 * 365 * 24 * time.Hour
	}
	if o.CertValidity == 0 {
		o.CertValidity = 365 * 24 * time.Hour
	}
	if o.CheckInterval == 0 {
		o.CheckInterval = min(time.Hour, o.CertValidity/10)
	}
}

// Rotator keeps the webhook server's certificate valid. Call Ensure before the webhook server
// starts (it needs the files), and run Start for renewals.
type Rotator struct {
	client client.Client
	opts   Options
	log    logr.Logger
}

// New returns a Rotator that reads and writes through c, which should not be a cached client:
// a cache would watch every Secret in the cluster.
func New(c client.Client, opts Options, log logr.Logger) (*Rotator, error) {
	if opts.Namespace == "" || opts.SecretName == "" || opts.ServiceName == "" || opts.CertDir == "" {
		return nil, errors.New("webhook certificates: namespace, secret, service and cert dir are required")
	}
	opts.defaults()
	return &Rotator{client: c, opts: opts, log: log}, nil
}

// NeedLeaderElection is false: every replica serves webhooks, so every one needs the files.
func (r *Rotator) NeedLeaderElection() bool { return false }

// Start checks the certificates every CheckInterval until ctx ends. A failed check is logged
// and retried; the certificate in use stays valid for a third of its life at least.
func (r *Rotator) Start(ctx context.Context) error {
	t := time.NewTicker(r.opts.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := r.Ensure(ctx); err != nil {
			r.log.Error(err, "webhook certificate check failed; retrying", "retryIn", r.opts.CheckInterval.String())
		}
	}
}

// Ensure makes the Secret hold a valid CA and serving certificate, renewing what is due, then
// writes the serving certificate to CertDir and the CA bundle into the webhook configurations.
func (r *Rotator) Ensure(ctx context.Context) error {
	var b bundle
	err := retry.OnError(retry.DefaultRetry, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) // another replica wrote first
	}, func() error {
		var err error
		b, err = r.ensureSecret(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if err := r.writeFiles(b); err != nil {
		return err
	}
	return r.injectCABundle(ctx, b.caBundle)
}

// ensureSecret reads the Secret and renews what is missing, invalid or due.
func (r *Rotator) ensureSecret(ctx context.Context) (bundle, error) {
	key := client.ObjectKey{Namespace: r.opts.Namespace, Name: r.opts.SecretName}
	secret := &corev1.Secret{}
	err := r.client.Get(ctx, key, secret)
	found := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return bundle{}, fmt.Errorf("read webhook certificate Secret %s: %w", key, err)
	}
	now := time.Now()
	b, changed, err := renew(secret.Data, r.dnsNames(), r.opts, now)
	if err != nil {
		return bundle{}, err
	}
	if !changed {
		return b, nil
	}
	secret.Data = b.data()
	if !found {
		secret.ObjectMeta = metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
			Labels: map[string]string{"app.kubernetes.io/name": "vm-service", "app.kubernetes.io/component": "webhook-certificates"}}
		secret.Type = corev1.SecretTypeOpaque
		err = r.client.Create(ctx, secret)
	} else {
		err = r.client.Update(ctx, secret)
	}
	if err != nil {
		return bundle{}, fmt.Errorf("write webhook certificate Secret %s: %w", key, err)
	}
	r.log.Info("renewed the webhook serving certificate", "secret", key.String(),
		"notAfter", b.cert.NotAfter.UTC().Format(time.RFC3339), "caNotAfter", b.ca.NotAfter.UTC().Format(time.RFC3339))
	return b, nil
}

// dnsNames are the names the apiserver dials the webhook Service by, and any extra hosts.
func (r *Rotator) dnsNames() []string {
	svc, ns := r.opts.ServiceName, r.opts.Namespace
	return append([]string{svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"}, r.opts.Hosts...)
}

// writeFiles writes the serving certificate where the webhook server reads it, when it differs;
// the server notices and loads it without a restart.
func (r *Rotator) writeFiles(b bundle) error {
	if err := os.MkdirAll(r.opts.CertDir, 0o700); err != nil {
		return fmt.Errorf("webhook cert dir %s: %w", r.opts.CertDir, err)
	}
	// The key first: a server that reads between the two writes fails to pair them and keeps the
	// old pair, rather than serving a certificate with the wrong key.
	for _, f := range []struct {
		name string
		data []byte
	}{{keyKey, b.keyPEM}, {certKey, b.certPEM}} {
		path := filepath.Join(r.opts.CertDir, f.name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// injectCABundle sets caBundle on every webhook of the configurations that lacks it. Both
// kinds have the same webhooks[].clientConfig.caBundle, so one unstructured path serves both.
func (r *Rotator) injectCABundle(ctx context.Context, caBundle []byte) error {
	encoded := base64.StdEncoding.EncodeToString(caBundle)
	for kind, names := range map[string][]string{
		"ValidatingWebhookConfiguration": r.opts.ValidatingConfigurations,
		"MutatingWebhookConfiguration":   r.opts.MutatingConfigurations,
	} {
		for _, name := range names {
			if err := r.inject(ctx, kind, name, encoded); err != nil {
				return fmt.Errorf("inject the CA into %s %s: %w", kind, name, err)
			}
		}
	}
	return nil
}

func (r *Rotator) inject(ctx context.Context, kind, name, caBundle string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		c := &unstructured.Unstructured{}
		c.SetGroupVersionKind(admissionregistrationv1.SchemeGroupVersion.WithKind(kind))
		if err := r.client.Get(ctx, client.ObjectKey{Name: name}, c); err != nil {
			return err
		}
		webhooks, _, err := unstructured.NestedSlice(c.Object, "webhooks")
		if err != nil {
			return err
		}
		changed := false
		for _, w := range webhooks {
			w, ok := w.(map[string]any)
			if !ok {
				continue
			}
			if old, _, _ := unstructured.NestedString(w, "clientConfig", "caBundle"); old != caBundle {
				if err := unstructured.SetNestedField(w, caBundle, "clientConfig", "caBundle"); err != nil {
					return err
				}
				changed = true
			}
		}
		if !changed {
			return nil
		}
		if err := unstructured.SetNestedSlice(c.Object, webhooks, "webhooks"); err != nil {
			return err
		}
		return r.client.Update(ctx, c)
	})
}

// Verify says whether cert chains to a CA of caBundle for host, as the apiserver checks it.
func Verify(caBundle []byte, cert *x509.Certificate, host string) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caBundle) {
		return errors.New("caBundle holds no certificate")
	}
	_, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: host})
	return err
}

// Checker is a readiness check that fails while the webhook server's certificate in certDir is
// missing, unreadable or expired, naming which and what to do.
func Checker(certDir string) func(*http.Request) error {
	return func(*http.Request) error {
		path := filepath.Join(certDir, certKey)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("webhook serving certificate %s missing: mount one or run with --webhook-cert-secret: %w", path, err)
		}
		certs := decodeCerts(data)
		if len(certs) == 0 {
			return fmt.Errorf("webhook serving certificate %s holds no certificate", path)
		}
		if now := time.Now(); now.After(certs[0].NotAfter) {
			return fmt.Errorf("webhook serving certificate %s expired at %s: renew it, or run with --webhook-cert-secret to have the manager renew it", path, certs[0].NotAfter.UTC().Format(time.RFC3339))
		}
		return nil
	}
}
