package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// entrypoint is where the binary lands; config/manager runs the image without a command,
	// so this is what runs in the Deployment.
	entrypoint = "/manager"
	// user is the distroless "nonroot" user and group; the Deployment requires a non-root user.
	user = "65532:65532"
	// caPath is where Go's crypto/x509 looks for system roots on Linux.
	caPath = "/etc/ssl/certs/ca-certificates.crt"
)

// options say what goes into the image and where it is written.
type options struct {
	Binary, Tag, Out, Arch, CACertificates string
	Created                                time.Time
}

// write builds the image and saves it as a tarball tagged o.Tag.
func (o options) write() error {
	if o.Binary == "" || o.Tag == "" || o.Out == "" {
		return errors.New("--binary, --tag and --out are required")
	}
	tag, err := name.NewTag(o.Tag)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", o.Tag, err)
	}
	img, err := o.build()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return err
	}
	if err := tarball.WriteToFile(o.Out, tag, img); err != nil {
		return fmt.Errorf("write %s: %w", o.Out, err)
	}
	return nil
}

// build returns the image: an empty base, one layer, and a config that runs the binary as the
// non-root user.
func (o options) build() (v1.Image, error) {
	layer, err := o.layer()
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, fmt.Errorf("add layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", o.Arch, v1.Time{Time: o.Created}
	cf.Config.User = user
	cf.Config.Entrypoint = []string{entrypoint}
	cf.Config.Cmd = nil
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/"} // no shell and nothing else to find
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
}

// entry is one file of the layer.
type entry struct {
	path string
	mode int64
	data []byte
}

// layer makes the single layer: the binary, the user's passwd and group entries (so tools that
// resolve the user by name find it), and the CA bundle when one was given.
func (o options) layer() (v1.Layer, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("read the manager binary: %w", err)
	}
	files := []entry{
		{path: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{path: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{path: entrypoint[1:], mode: 0o755, data: bin},
	}
	if o.CACertificates != "" {
		ca, err := os.ReadFile(o.CACertificates)
		if err != nil {
			return nil, fmt.Errorf("read the CA bundle: %w", err)
		}
		files = append(files, entry{path: caPath[1:], mode: 0o644, data: ca})
	}
	data, err := tarFiles(files, o.Created)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// tarFiles writes files, and the directories above them, as an uncompressed tar owned by root.
func tarFiles(files []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		var parents []string
		for d := filepath.Dir(f.path); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: f.mode, Size: int64(len(f.data)), ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", f.path, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
