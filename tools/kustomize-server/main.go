// fluxguard-kustomize: kustomize builds for fluxguard, in one long-lived process.
//
// It links the kustomize API at the version Flux's kustomize-controller uses (v1.9.5 of the
// controller, Flux 2.9.5: sigs.k8s.io/kustomize/api v0.21.1), so a render is what Flux would
// build, and it saves the ~60 ms of process start-up and OpenAPI parsing that every
// `kustomize build` / `kubectl kustomize` invocation pays.
//
// Protocol, one request at a time: fluxguard writes one line of JSON to stdin,
//
//	{"dir": "/abs/dir", "sources": {"/real/path/of/a/resource.yaml": "/path/fluxguard/knows/it/by"}, "annotation": "key",
//	 "roots": ["/real/root"], "maxFileBytes": 4194304, "files": {"/abs/dir/kustomization.yaml": "..."}}
//
// and the server answers "ok <n>\n" followed by an n-byte JSON array of the built objects, or
// "err <n>\n" followed by an n-byte error message. EOF on stdin ends the process.
//
// Where each object came from: kustomize's own buildMetadata origin tracking re-serialises a
// growing annotation on every object after every transformer, which is most of the cost of a
// build. Instead, the server marks every document of the files fluxguard lists in "sources"
// (the files kustomizations use as resources, never patches) with the annotation as they are
// read, so each built object carries its source file, at no cost to the transformers.
//
// Safety: plugins of every kind are disabled (no exec or KRM function plugins, no Helm
// inflation), as with `kustomize build` without --enable-alpha-plugins/--enable-exec/
// --enable-helm. kustomize's own load restrictions are off (fluxguard's wrapper kustomization
// lives in a temporary directory and names files in the source), but the file system kustomize
// sees is confined, like the one kustomize-controller builds on: every path is resolved to its
// real path (symlinks followed) and must lie inside one of the request's "roots" (the source
// roots and fluxguard's temporary directory); files larger than "maxFileBytes" are refused;
// nothing is ever written. The process caps its own memory (FLUXGUARD_KUSTOMIZE_MEMORY_MB,
// default 2048: a soft Go memory limit, and an address-space rlimit of twice that).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// marked caches marked file contents for the life of the process (see markingFS).
var marked = map[string][]byte{}

type request struct {
	Dir        string            `json:"dir"`
	Sources    map[string]string `json:"sources"`
	Annotation string            `json:"annotation"`
	// Roots confine every read (real paths); a request without roots is refused.
	Roots []string `json:"roots"`
	// MaxFileBytes bounds the size of any file read (0: 4 MiB).
	MaxFileBytes int64 `json:"maxFileBytes"`
	// Files are fluxguard's own wrapper kustomizations, held in memory: absolute path -> text,
	// every path inside Dir. Dir then need not exist on disk, and nothing under it is read from
	// disk (fluxguard writes no temporary directory for such a build).
	Files map[string]string `json:"files"`
}

// routedFS serves paths under root from memory (the request's Files) and every other path
// from the confined disk.
type routedFS struct {
	filesys.FileSystem // the confined disk
	root               string
	mem                filesys.FileSystem
}

func (r *routedFS) pick(p string) filesys.FileSystem {
	if inside(r.root, filepath.Clean(p)) {
		return r.mem
	}
	return r.FileSystem
}

func (r *routedFS) Exists(p string) bool { return r.pick(p).Exists(p) }
func (r *routedFS) IsDir(p string) bool  { return r.pick(p).IsDir(p) }
func (r *routedFS) ReadFile(p string) ([]byte, error) {
	return r.pick(p).ReadFile(p)
}
func (r *routedFS) Open(p string) (filesys.File, error)       { return r.pick(p).Open(p) }
func (r *routedFS) ReadDir(p string) ([]string, error)        { return r.pick(p).ReadDir(p) }
func (r *routedFS) Glob(pattern string) ([]string, error)     { return r.pick(pattern).Glob(pattern) }
func (r *routedFS) Walk(p string, fn filepath.WalkFunc) error { return r.pick(p).Walk(p, fn) }
func (r *routedFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	return r.pick(p).CleanedAbs(p)
}

// confinedFS is a read-only view of the disk in which only real paths inside roots exist.
type confinedFS struct {
	filesys.FileSystem
	roots    []string
	maxBytes int64
}

var errReadOnly = fmt.Errorf("fluxguard-kustomize: the file system is read-only")

func inside(root, p string) bool {
	if p == root {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(root, string(filepath.Separator))+string(filepath.Separator))
}

// check resolves p to its real path and says whether it may be read.
func (c *confinedFS) check(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("%s: no such file or directory", p)
	}
	for _, r := range c.roots {
		if inside(r, real) {
			return real, nil
		}
	}
	return "", fmt.Errorf("%s: not read: it leaves the source root (a symlink or path pointing outside)", p)
}

func (c *confinedFS) Exists(p string) bool {
	_, err := c.check(p)
	return err == nil
}

func (c *confinedFS) IsDir(p string) bool {
	real, err := c.check(p)
	return err == nil && c.FileSystem.IsDir(real)
}

func (c *confinedFS) ReadFile(p string) ([]byte, error) {
	real, err := c.check(p)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	if st.Size() > c.maxBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, c.maxBytes)
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, c.maxBytes+1))
}

func (c *confinedFS) Open(p string) (filesys.File, error) {
	if _, err := c.check(p); err != nil {
		return nil, err
	}
	return c.FileSystem.Open(p)
}

func (c *confinedFS) ReadDir(p string) ([]string, error) {
	if _, err := c.check(p); err != nil {
		return nil, err
	}
	return c.FileSystem.ReadDir(p)
}

func (c *confinedFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if _, err := c.check(p); err != nil {
		return "", "", err
	}
	return c.FileSystem.CleanedAbs(p)
}

func (c *confinedFS) Glob(pattern string) ([]string, error) {
	matches, err := c.FileSystem.Glob(pattern)
	if err != nil {
		return nil, err
	}
	out := matches[:0]
	for _, m := range matches {
		if _, err := c.check(m); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

func (c *confinedFS) Walk(p string, fn filepath.WalkFunc) error {
	if _, err := c.check(p); err != nil {
		return err
	}
	return c.FileSystem.Walk(p, func(path string, info os.FileInfo, err error) error {
		if _, cerr := c.check(path); cerr != nil {
			return nil
		}
		return fn(path, info, err)
	})
}

func (c *confinedFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (c *confinedFS) Mkdir(string) error                  { return errReadOnly }
func (c *confinedFS) MkdirAll(string) error               { return errReadOnly }
func (c *confinedFS) RemoveAll(string) error              { return errReadOnly }
func (c *confinedFS) WriteFile(string, []byte) error      { return errReadOnly }

// markingFS reads from disk and marks the documents of source files with their path.
type markingFS struct {
	filesys.FileSystem
	sources    map[string]string
	annotation string
	real       map[string]string
	// marked is shared by every request of the process: a base that many overlays include is
	// parsed and marked once. fluxguard runs a server for one audit, so files do not change
	// under it; the key includes the content's length and the mark, to be safe.
	marked map[string][]byte
}

func (m *markingFS) realPath(p string) string {
	if r, ok := m.real[p]; ok {
		return r
	}
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		r = p
	}
	m.real[p] = r
	return r
}

func (m *markingFS) ReadFile(p string) ([]byte, error) {
	data, err := m.FileSystem.ReadFile(p)
	if err != nil || m.annotation == "" {
		return data, err
	}
	known, ok := m.sources[m.realPath(p)]
	if !ok {
		return data, nil
	}
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%d", m.realPath(p), m.annotation, known, len(data))
	if out, hit := m.marked[key]; hit {
		return out, nil
	}
	out := markDocuments(data, m.annotation, known)
	m.marked[key] = out
	return out, nil
}

// markDocuments sets the annotation on every document (and List item); on any parse or write
// problem it returns the bytes unchanged, and kustomize reports what it finds.
func markDocuments(data []byte, annotation, known string) []byte {
	nodes, perr := kio.FromBytes(data)
	if perr != nil {
		return data
	}
	for _, n := range nodes {
		mark(n, annotation, known)
		quoteBlockScalars(n.YNode())
	}
	out, werr := kio.StringAll(nodes)
	if werr != nil {
		return data
	}
	return []byte(out)
}

// quoteBlockScalars re-styles folded and literal block scalars as double-quoted ones, so
// writing the marked file and kustomize reading it back gives the exact strings the file
// held: go-yaml does not round-trip every block scalar (a folded scalar with more-indented
// lines gains a newline).
func quoteBlockScalars(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.FoldedStyle|yaml.LiteralStyle) != 0 {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		quoteBlockScalars(c)
	}
}

func mark(n *yaml.RNode, key, value string) {
	if n.YNode().Kind != yaml.MappingNode {
		return
	}
	_ = n.PipeE(yaml.SetAnnotation(key, value))
	if items, err := n.Pipe(yaml.Lookup("items")); err == nil && items != nil && items.YNode().Kind == yaml.SequenceNode {
		for _, it := range items.Content() {
			mark(yaml.NewRNode(it), key, value)
		}
	}
}

// limitMemory caps the process: a soft Go memory limit (the GC works harder near it) and an
// address-space rlimit of twice that, past which allocation fails and the process exits, so a
// hostile input ends one build instead of exhausting the machine.
func limitMemory() {
	mb := int64(2048)
	if v := os.Getenv("FLUXGUARD_KUSTOMIZE_MEMORY_MB"); v != "" {
		if _, err := fmt.Sscanf(v, "%d", &mb); err != nil || mb <= 0 {
			mb = 2048
		}
	}
	debug.SetMemoryLimit(mb << 20)
	as := uint64(mb<<20) * 2
	if as < 1<<30 {
		as = 1 << 30
	}
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: as, Max: as})
}

// protocolVersion changes when the request/response format does.
const protocolVersion = "4"

func apiVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "sigs.k8s.io/kustomize/api" {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

// options are the kustomize options of every build: no load restrictor (the file system is
// confined instead), every plugin disabled.
func options() *krusty.Options {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	opts.PluginConfig = types.DisabledPluginConfig()
	return opts
}

// warmUp builds a small fixed kustomization held in memory (never the disk) before the first
// request, so kustomize's one-time set-up (parsing its built-in OpenAPI schema, ~70 ms) happens
// while fluxguard is still reading the repository (it starts the servers early), not during
// the first render. The output is discarded.
func warmUp() {
	mem := filesys.MakeFsInMemory()
	files := map[string]string{
		"/warm/kustomization.yaml": "resources: [objects.yaml]\nnamespace: warm\nnamePrefix: w-\nlabels: [{pairs: {a: b}}]\n" +
			"patches:\n- patch: '[{\"op\": \"add\", \"path\": \"/data/b\", \"value\": \"c\"}]'\n  target: {kind: ConfigMap}\n" +
			"- patch: 'apiVersion: apps/v1\n\n    kind: Deployment\n\n    metadata: {name: d}\n\n    spec: {replicas: 2}'\n" +
			"images: [{name: app, newTag: v2}]\n",
		"/warm/objects.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: b}\n---\n" +
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      volumes: [{name: v, configMap: {name: a}}]\n      containers: [{name: c, image: app}]\n",
	}
	for name, text := range files {
		if err := mem.WriteFile(name, []byte(text)); err != nil {
			return
		}
	}
	if m, err := krusty.MakeKustomizer(options()).Run(mem, "/warm"); err == nil {
		for _, r := range m.Resources() {
			_, _ = objectJSON(&r.RNode)
		}
	}
}

func build(disk filesys.FileSystem, req request) ([]byte, error) {
	opts := options()
	if len(req.Roots) == 0 {
		return nil, fmt.Errorf("request without roots")
	}
	maxBytes := req.MaxFileBytes
	if maxBytes <= 0 {
		maxBytes = 4 << 20
	}
	roots := make([]string, 0, len(req.Roots))
	for _, r := range req.Roots {
		if real, err := filepath.EvalSymlinks(r); err == nil {
			roots = append(roots, real)
		}
	}
	var view filesys.FileSystem = &confinedFS{FileSystem: disk, roots: roots, maxBytes: maxBytes}
	if len(req.Files) > 0 {
		root := filepath.Clean(req.Dir)
		mem := filesys.MakeFsInMemory()
		for p, text := range req.Files {
			if !filepath.IsAbs(p) || !inside(root, filepath.Clean(p)) {
				return nil, fmt.Errorf("in-memory file %s is not inside the build directory", p)
			}
			if err := mem.WriteFile(filepath.Clean(p), []byte(text)); err != nil {
				return nil, err
			}
		}
		view = &routedFS{FileSystem: view, root: root, mem: mem}
	}
	fs := &markingFS{FileSystem: view, sources: req.Sources, annotation: req.Annotation, real: map[string]string{}, marked: marked}
	m, err := krusty.MakeKustomizer(opts).Run(fs, req.Dir)
	if err != nil {
		return nil, err
	}
	objects := make([]json.RawMessage, 0, m.Size())
	for _, r := range m.Resources() {
		b, err := objectJSON(&r.RNode)
		if err != nil {
			return nil, err
		}
		objects = append(objects, b)
	}
	return json.Marshal(objects)
}

// objectJSON is the object's JSON as kustomize's RNode.MarshalJSON writes it (what `kustomize
// build` prints, converted), without its detour: MarshalJSON serialises the node to YAML text and
// parses that text again before decoding it, which was a sixth of the server's CPU. Decoding the
// node itself (RNode.Map, the same yaml.v3 decoder) gives the same map; json.Marshal then writes
// it exactly as MarshalJSON does (sorted keys). A node that does not decode this way falls back
// to MarshalJSON. The kustomize-server tests compare the output with the kustomize CLI's.
func objectJSON(rn *yaml.RNode) ([]byte, error) {
	if rn.YNode() != nil && rn.YNode().Kind == yaml.MappingNode {
		if m, err := rn.Map(); err == nil {
			if b, err := json.Marshal(m); err == nil {
				return b, nil
			}
		}
	}
	return rn.MarshalJSON()
}

func reply(w *bufio.Writer, status string, body []byte) error {
	if _, err := fmt.Fprintf(w, "%s %d\n", status, len(body)); err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	return w.Flush()
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "version" || os.Args[1] == "--version") {
		fmt.Printf("fluxguard-kustomize protocol %s, sigs.k8s.io/kustomize/api %s\n", protocolVersion, apiVersion())
		return
	}
	limitMemory()
	if _, set := os.LookupEnv("GOGC"); !set {
		// kustomize allocates heavily; a 400 % GC target trades ~100 MB for a quarter of the CPU.
		debug.SetGCPercent(400)
	}
	if p := os.Getenv("FLUXGUARD_KUSTOMIZE_CPUPROFILE"); p != "" {
		// For profiling fluxguard's renders: `go tool pprof <binary> <file>`.
		if f, err := os.Create(fmt.Sprintf("%s.%d", p, os.Getpid())); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	warmUp()
	fs := filesys.MakeFsOnDisk()
	in := bufio.NewReaderSize(os.Stdin, 64*1024)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	for {
		line, err := in.ReadString('\n')
		if err == io.EOF && line == "" {
			break
		}
		if err != nil && err != io.EOF {
			fmt.Fprintf(os.Stderr, "fluxguard-kustomize: reading request: %v\n", err)
			os.Exit(2)
		}
		var req request
		var body []byte
		berr := json.Unmarshal([]byte(strings.TrimRight(line, "\r\n")), &req)
		if berr == nil && req.Dir == "" {
			berr = fmt.Errorf("request without a directory")
		}
		if berr == nil {
			func() {
				// A panic inside kustomize fails this build, not the server.
				defer func() {
					if r := recover(); r != nil {
						berr = fmt.Errorf("kustomize panicked: %v", r)
					}
				}()
				body, berr = build(fs, req)
			}()
		}
		if berr != nil {
			err = reply(out, "err", []byte(berr.Error()))
		} else {
			err = reply(out, "ok", body)
		}
		if err != nil {
			break
		}
	}
}
