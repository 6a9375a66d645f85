// Command fluxguard-flux-distribution serves the Flux Operator's distribution artifact (the
// Flux controllers' manifests per version) from a loopback OCI registry, so that
// `flux-operator build instance --distribution-artifact oci://127.0.0.1:PORT/...` renders a
// FluxInstance offline, with the operator's own builder.
//
// The content is the `flux/` directory that the Flux Operator ships in its image (`/data`,
// from `config/data` of github.com/controlplaneio-fluxcd/flux-operator at the pinned version):
// the same tree that the published artifact
// oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests carries under `flux/`.
// The artifact is written the way `flux push artifact` writes it: an OCI image manifest with
// config media type application/vnd.cncf.flux.config.v1+json and one layer of media type
// application/vnd.cncf.flux.content.v1.tar+gzip.
//
//	fluxguard-flux-distribution pack  -data DIR -o FILE.tar.gz   gzip DIR/flux into the layer (build time)
//	fluxguard-flux-distribution serve -layer FILE.tar.gz         serve it until stdin closes
//
// `serve` prints one line, the artifact URL, when it is ready. The registry is
// go-containerregistry's pkg/registry (in memory), bound to 127.0.0.1 on a free port.
package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	configMediaType  = "application/vnd.cncf.flux.config.v1+json"
	contentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
	repository       = "controlplaneio-fluxcd/flux-operator-manifests"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fluxguard-flux-distribution pack|serve [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "pack":
		fl := flag.NewFlagSet("pack", flag.ExitOnError)
		data := fl.String("data", "", "directory holding flux/<version>/*.yaml")
		out := fl.String("o", "", "the layer to write (.tar.gz)")
		_ = fl.Parse(os.Args[2:])
		err = pack(*data, *out)
	case "serve":
		fl := flag.NewFlagSet("serve", flag.ExitOnError)
		layer := fl.String("layer", "", "the layer written by pack")
		tag := fl.String("tag", "latest", "the tag to push")
		_ = fl.Parse(os.Args[2:])
		err = serve(*layer, *tag)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fluxguard-flux-distribution:", err)
		os.Exit(1)
	}
}

// pack writes DIR/flux as a gzipped tarball with entries flux/<version>/<file>, in sorted
// order with fixed times and modes, so the layer (and its digest) is reproducible.
func pack(data, out string) error {
	if data == "" || out == "" {
		return errors.New("pack needs -data and -o")
	}
	root := filepath.Join(data, "flux")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no files under %s", root)
	}
	sort.Strings(files)
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	gz, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	epoch := time.Unix(0, 0)
	dirs := map[string]bool{}
	for _, p := range files {
		rel, _ := filepath.Rel(data, p)
		rel = filepath.ToSlash(rel)
		for d := filepath.ToSlash(filepath.Dir(rel)); d != "." && !dirs[d]; d = filepath.ToSlash(filepath.Dir(d)) {
			dirs[d] = true
		}
	}
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, p)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), ModTime: epoch}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func serve(layerPath, tag string) error {
	blob, err := os.ReadFile(layerPath)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, configMediaType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(blob, contentMediaType)})
	if err != nil {
		return err
	}
	img = mutate.Annotations(img, map[string]string{"org.opencontainers.image.description": "Flux Operator distribution (served by fluxguard)"}).(v1.Image)
	ref, err := name.ParseReference(fmt.Sprintf("%s/%s:%s", ln.Addr().String(), repository, tag))
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img); err != nil {
		return fmt.Errorf("pushing to the loopback registry: %w", err)
	}
	fmt.Printf("oci://%s\n", ref.String())
	// Serve until whoever started us closes stdin.
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	return srv.Close()
}
