package namespaces_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The namespaces suite covers the Connection's redaction and the all-or-nothing inventory read
// with a fake API. The session against a simulator, including logging in again when vCenter
// drops it, is exercised through the vCenter sync's suite (controllers/vcentersync).
func TestNamespaces(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "vCenter namespaces suite")
}
