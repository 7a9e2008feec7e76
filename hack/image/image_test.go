package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

var _ = Describe("make image", Ordered, func() {
	var (
		root, dir string
		img       v1.Image
		cfg       *v1.ConfigFile
		files     map[string]*tar.Header
		contents  map[string][]byte
		manifest  appsv1.Deployment
	)

	BeforeAll(func(ctx SpecContext) {
		root = repoRoot()
		dir = GinkgoT().TempDir()
		manifest = deployment(root)

		// What a user runs, with the tarball kept out of the checkout.
		cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", root, "image", "IMAGE_DIR="+dir)
		cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
		Expect(cmd.Run()).To(Succeed())

		tag, err := name.NewTag(manifest.Spec.Template.Spec.Containers[0].Image)
		Expect(err).NotTo(HaveOccurred())
		// Found by the manifests' reference: the tarball carries the tag the Deployment runs.
		img, err = tarball.ImageFromPath(filepath.Join(dir, "vm-service-manager.tar"), &tag)
		Expect(err).NotTo(HaveOccurred())
		cfg, err = img.ConfigFile()
		Expect(err).NotTo(HaveOccurred())
		files, contents = layerFiles(img)
	}, NodeTimeout(10*time.Minute))

	It("runs the manager as the non-root user 65532, as config/manager requires", func() {
		Expect(cfg.Config.User).To(Equal("65532:65532"))
		Expect(*manifest.Spec.Template.Spec.SecurityContext.RunAsNonRoot).To(BeTrue())
		Expect(string(contents["etc/passwd"])).To(ContainSubstring("nonroot:x:65532:65532:"))
		Expect(string(contents["etc/group"])).To(ContainSubstring("nonroot:x:65532:"))
	})

	It("has the manager as entrypoint, which the Deployment runs with its arguments", func() {
		Expect(cfg.Config.Entrypoint).To(Equal([]string{"/manager"}))
		Expect(cfg.Config.Cmd).To(BeEmpty())
		Expect(manifest.Spec.Template.Spec.Containers[0].Command).To(BeEmpty(), "the Deployment must not override the entrypoint")
		Expect(cfg.OS).To(Equal("linux"))
	})

	It("is one layer on an empty base: the binary, the user, the CA bundle and nothing else, no shell", func() {
		layers, err := img.Layers()
		Expect(err).NotTo(HaveOccurred())
		Expect(layers).To(HaveLen(1))
		Expect(cfg.RootFS.DiffIDs).To(HaveLen(1))
		wanted := []string{"etc/", "etc/group", "etc/passwd", "manager"}
		if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil { // the Makefile adds the build host's bundle
			wanted = append(wanted, "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt")
		}
		Expect(files).To(HaveLen(len(wanted)))
		for _, f := range wanted {
			Expect(files).To(HaveKey(f))
		}
		Expect(files["manager"].Mode & 0o111).NotTo(BeZero())
		for _, h := range files {
			Expect(h.Uid).To(BeZero(), "%s is root's, so the manager cannot change it", h.Name)
		}
	})

	It("carries a static binary that runs --help", func(ctx SpecContext) {
		bin := filepath.Join(dir, "extracted-manager")
		Expect(os.WriteFile(bin, contents["manager"], 0o755)).To(Succeed())

		f, err := elf.Open(bin)
		Expect(err).NotTo(HaveOccurred())
		defer f.Close()
		for _, p := range f.Progs {
			Expect(p.Type).NotTo(Equal(elf.PT_INTERP), "the binary needs a dynamic loader, which the image lacks")
		}

		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, "--help")
		cmd.Stdout, cmd.Stderr = &out, &out
		Expect(cmd.Run()).To(Succeed(), out.String())
		Expect(out.String()).To(ContainSubstring("-vcenter-url"))
	}, NodeTimeout(time.Minute))

	It("is the image the Makefile, the manifests and the Dockerfile name and describe", func() {
		mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
		Expect(err).NotTo(HaveOccurred())
		m := regexp.MustCompile(`(?m)^IMG \?= (\S+)$`).FindSubmatch(mk)
		Expect(m).NotTo(BeNil(), "the Makefile sets IMG")
		Expect(manifest.Spec.Template.Spec.Containers[0].Image).To(Equal(string(m[1])))

		df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(df)).To(MatchRegexp(`(?m)^USER ` + regexp.QuoteMeta(cfg.Config.User) + `$`))
		Expect(string(df)).To(MatchRegexp(`(?m)^ENTRYPOINT \["/manager"\]$`))
		Expect(string(df)).To(ContainSubstring("CGO_ENABLED=0"))
		Expect(string(df)).To(ContainSubstring("-trimpath"))
	})

	It("is the same image when built again from the same binary", func() {
		o := options{Binary: filepath.Join(dir, "manager"), Tag: "vm-service-manager:dev", Arch: cfg.Architecture, Created: cfg.Created.Time}
		if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
			o.CACertificates = "/etc/ssl/certs/ca-certificates.crt"
		}
		again, err := o.build()
		Expect(err).NotTo(HaveOccurred())
		// The config names every layer by the digest of its content, so equal configs mean
		// equal file systems.
		want, err := img.ConfigName()
		Expect(err).NotTo(HaveOccurred())
		Expect(again.ConfigName()).To(Equal(want))
	})
})

// layerFiles reads the image's flattened file system: each entry's header and regular files'
// contents.
func layerFiles(img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	GinkgoHelper()
	layers, err := img.Layers()
	Expect(err).NotTo(HaveOccurred())
	headers, contents := map[string]*tar.Header{}, map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		Expect(err).NotTo(HaveOccurred())
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			Expect(err).NotTo(HaveOccurred())
			headers[h.Name] = h
			if h.Typeflag == tar.TypeReg {
				data, err := io.ReadAll(tr)
				Expect(err).NotTo(HaveOccurred())
				contents[h.Name] = data
			}
		}
		Expect(rc.Close()).To(Succeed())
	}
	return headers, contents
}

// deployment is config/manager's Deployment.
func deployment(root string) appsv1.Deployment {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(root, "config", "manager", "manager.yaml"))
	Expect(err).NotTo(HaveOccurred())
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var d appsv1.Deployment
		Expect(yaml.Unmarshal([]byte(doc), &d)).To(Succeed())
		if d.Kind == "Deployment" {
			return d
		}
	}
	Fail("config/manager/manager.yaml has no Deployment")
	return appsv1.Deployment{}
}

// repoRoot is the checkout: this package is hack/image.
func repoRoot() string {
	GinkgoHelper()
	wd, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred())
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}
