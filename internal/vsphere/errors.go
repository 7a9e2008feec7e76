package vsphere

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
)

var (
	// ErrUnreachable marks errors that mean vCenter could not be reached at all (refused, reset,
	// timed out, DNS failure), as opposed to vCenter refusing a request. Controllers use it, via
	// IsUnreachable, to report "vCenter down" and retry later without blaming the object.
	ErrUnreachable = errors.New("vCenter unreachable")

	// ErrImageNotFound means the content library has no item with the requested image name; a
	// controller reports it as VirtualMachineImageNotFound.
	ErrImageNotFound = errors.New("image not found in content library")

	// ErrNameTaken means a vSphere VM that VM Service did not make for this VirtualMachine has
	// its name in the namespace's folder; a controller reports it as VirtualMachineNameTaken and
	// never touches that VM.
	ErrNameTaken = errors.New("name taken by another vSphere VM")

	// ErrVMNotFound means the VM does not exist and the spec asked that none be made
	// (VMSpec.MustExist).
	ErrVMNotFound = errors.New("VM not found in vSphere")
)

// IsUnreachable says whether err means vCenter could not be reached. TLS certificate errors do
// not count: vCenter answered, and the fix is configuration, not waiting.
func IsUnreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnreachable) {
		return true
	}
	if isCertificateError(err) {
		return false
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case errors.As(err, &opErr), errors.As(err, &dnsErr):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	case errors.As(err, &urlErr):
		// The HTTP client failed before any response: the server hung up (EOF) or the
		// transport gave up.
		return errors.Is(urlErr.Err, io.EOF) || errors.Is(urlErr.Err, io.ErrUnexpectedEOF)
	}
	return false
}

func isCertificateError(err error) bool {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify)
}

// classify marks a connection failure with ErrUnreachable, keeping the cause.
func classify(err error) error {
	if err == nil || errors.Is(err, ErrUnreachable) || !IsUnreachable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}
