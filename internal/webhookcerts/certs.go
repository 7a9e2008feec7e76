package webhookcerts

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// bundle is what the Secret holds, parsed.
type bundle struct {
	ca       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	caBundle []byte // PEM: ca, then older CAs still valid
	caKeyPEM []byte

	cert            *x509.Certificate
	certPEM, keyPEM []byte
}

func (b bundle) data() map[string][]byte {
	return map[string][]byte{caCertKey: b.caBundle, caKeyKey: b.caKeyPEM, certKey: b.certPEM, keyKey: b.keyPEM}
}

// renew returns the bundle in data with whatever is missing, unreadable or due renewed at now,
// and whether anything was.
func renew(data map[string][]byte, hosts []string, o Options, now time.Time) (bundle, bool, error) {
	b, olderCAs := parse(data)
	changed := false
	if b.ca == nil || due(b.ca, o.CAValidity, now) {
		var err error
		if b.ca, b.caKey, b.caKeyPEM, err = newCA(now, o.CAValidity); err != nil {
			return bundle{}, false, err
		}
		// Keep trusting the CAs still valid: other replicas serve certificates they signed
		// until they read the new Secret.
		olderCAs = decodeCerts(data[caCertKey])
		changed = true
	}
	if changed || b.cert == nil || due(b.cert, o.CertValidity, now) || !valid(b, hosts, now) {
		var err error
		if b.cert, b.certPEM, b.keyPEM, err = newServingCert(b.ca, b.caKey, hosts, now, o.CertValidity); err != nil {
			return bundle{}, false, err
		}
		changed = true
	}
	if changed {
		var buf bytes.Buffer
		buf.Write(encodeCert(b.ca))
		for _, c := range olderCAs {
			if c.NotAfter.After(now) && !c.Equal(b.ca) {
				buf.Write(encodeCert(c))
			}
		}
		b.caBundle = buf.Bytes()
	}
	return b, changed, nil
}

// parse reads what it can of data; whatever is unreadable is left nil, to be made anew.
func parse(data map[string][]byte) (b bundle, olderCAs []*x509.Certificate) {
	cas := decodeCerts(data[caCertKey])
	if len(cas) == 0 {
		return bundle{}, nil
	}
	key, err := decodeKey(data[caKeyKey])
	if err != nil || !key.PublicKey.Equal(cas[0].PublicKey) {
		return bundle{}, nil
	}
	b = bundle{ca: cas[0], caKey: key, caKeyPEM: data[caKeyKey], caBundle: data[caCertKey]}
	if certs := decodeCerts(data[certKey]); len(certs) > 0 {
		if k, err := decodeKey(data[keyKey]); err == nil && k.PublicKey.Equal(certs[0].PublicKey) {
			b.cert, b.certPEM, b.keyPEM = certs[0], data[certKey], data[keyKey]
		}
	}
	return b, cas[1:]
}

// due says whether less than a third of validity is left on c.
func due(c *x509.Certificate, validity time.Duration, now time.Time) bool {
	return c.NotAfter.Sub(now) < validity/3
}

// valid says whether the serving certificate chains to the current CA for every host.
func valid(b bundle, hosts []string, now time.Time) bool {
	pool := x509.NewCertPool()
	pool.AddCert(b.ca)
	for _, h := range hosts {
		if _, err := b.cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: h, CurrentTime: now}); err != nil {
			return false
		}
	}
	return true
}

func newCA(now time.Time, validity time.Duration) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generate webhook CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "vm-service-webhook-ca"},
		NotBefore:             now.Add(-time.Hour), // tolerate clocks a little behind
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sign webhook CA: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := encodeKey(key)
	return ca, key, keyPEM, err
}

func newServingCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, now time.Time, validity time.Duration) (*x509.Certificate, []byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generate webhook serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		// Never past the CA: a certificate outliving its issuer would fail before it is due.
		NotAfter:    minTime(now.Add(validity), ca.NotAfter),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sign webhook serving certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := encodeKey(key)
	return cert, encodeCert(cert), keyPEM, err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("read random serial: %v", err)) // crypto/rand does not fail on Linux
	}
	return n
}

func encodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func encodeKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func decodeCerts(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil && block.Type == "CERTIFICATE" {
			out = append(out, c)
		}
	}
}

func decodeKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	return x509.ParseECPrivateKey(block.Bytes)
}
