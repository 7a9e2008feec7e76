//go:build tools

// Package tools pins the versions of the command-line tools the Makefile builds from this module.
package tools

import (
	_ "github.com/onsi/ginkgo/v2/ginkgo"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
