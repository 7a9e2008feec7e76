// Command image assembles the manager's container image without a container engine: one layer
// on an empty base holding the static manager binary, the passwd and group entries of its
// non-root user and, when given, a CA bundle, written as a tarball that `docker load`, `podman
// load`, crane and kind read. `make image` runs it; the Dockerfile builds the same image for
// those who have Docker.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	var (
		o     options
		epoch int64
	)
	flag.StringVar(&o.Binary, "binary", "", "the manager binary, built static for linux (CGO_ENABLED=0)")
	flag.StringVar(&o.Tag, "tag", "", "image reference the tarball carries, such as vm-service-manager:dev (the manifests' image)")
	flag.StringVar(&o.Out, "out", "", "tarball to write")
	flag.StringVar(&o.Arch, "arch", runtime.GOARCH, "architecture the binary was built for")
	flag.StringVar(&o.CACertificates, "ca-certificates", "", "PEM bundle to install as /etc/ssl/certs/ca-certificates.crt, for vCenters whose certificate a public CA signed; empty adds none")
	// Files and the image get one fixed time, so the same binary always makes the same image.
	flag.Int64Var(&epoch, "source-date-epoch", 0, "Unix time recorded on the files and the image")
	flag.Parse()
	o.Created = time.Unix(epoch, 0).UTC()
	if err := o.write(); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%s)\n", o.Out, o.Tag)
}
