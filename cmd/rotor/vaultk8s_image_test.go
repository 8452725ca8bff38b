package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// There is no Docker engine in CI. These helpers build the vault-k8s
// image's file system in a directory by following the Dockerfile's own
// vault-k8s stages (their COPY, RUN, USER, ENV and WORKDIR lines), with
// the Debian package busybox-static standing in for the busybox image and
// rotor built with the Dockerfile's go build line standing in for the
// build stage. A command then runs in that directory as the image's user,
// under chroot: the paths are the container's (/bin/vault, /home/vault,
// /vault/secrets) and, as UID 100 owns nothing else there, nothing else
// can be written, as with the injector's readOnlyRootFilesystem.

// distrolessPath is the PATH the distroless base image sets.
const distrolessPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// dfStage is one stage of the Dockerfile.
type dfStage struct {
	from, name string
	lines      []string // its instructions, continuation lines joined
}

func (s dfStage) has(line string) bool {
	for _, l := range s.lines {
		if l == line {
			return true
		}
	}
	return false
}

// dockerfileStages splits df into stages.
func dockerfileStages(df string) []dfStage {
	var stages []dfStage
	var cont string
	for l := range strings.Lines(df) {
		l = strings.TrimSpace(l)
		if cont == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(l, `\`); ok {
			cont += s
			continue
		}
		l, cont = cont+l, ""
		if f := strings.Fields(l); f[0] == "FROM" {
			f = f[1:]
			if strings.HasPrefix(f[0], "--platform=") {
				f = f[1:]
			}
			st := dfStage{from: f[0]}
			if len(f) == 3 && f[1] == "AS" {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, l)
		}
	}
	return stages
}

// imageLayout is an image's file system laid out in a directory.
type imageLayout struct {
	root     string
	uid, gid uint32
	env      []string
	workdir  string
}

// vaultK8sImage lays out the Dockerfile's vault-k8s image. It needs root
// (files owned by UID 100, chroot) and a static busybox.
func vaultK8sImage(t *testing.T) *imageLayout {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the vault-k8s image is a Linux image; laying it out needs chroot")
	}
	if os.Geteuid() != 0 {
		t.Skip("laying out the vault-k8s image needs root: chroot, and files owned by UID 100 (CI runs as root)")
	}
	stages := map[string]dfStage{}
	df := readDockerfile(t)
	for _, s := range dockerfileStages(df) {
		stages[s.name] = s
	}
	busybox := staticBusybox(t)
	rotor := filepath.Join(t.TempDir(), "rotor")
	dockerfileBuild(t, df, runtime.GOARCH, rotor)

	// The vault-k8s-root stage runs on the golang image: a directory with
	// a shell and the tools its RUN line uses stands in for it.
	stage := mkRoot(t)
	for _, tool := range []string{"sh", "ln", "mkdir", "printf"} {
		mustRun(t, "ln", "-s", "/bin/busybox", filepath.Join(stage, "bin", tool))
	}
	mustRun(t, "cp", busybox, filepath.Join(stage, "bin", "busybox"))
	from := map[string]func(string) string{
		"busybox": func(p string) string {
			if p != "/bin/busybox" {
				t.Fatalf("the test has only /bin/busybox of the busybox image, not %s", p)
			}
			return busybox
		},
		"build": func(p string) string {
			if p != "/out/rotor" {
				t.Fatalf("the test has only /out/rotor of the build stage, not %s", p)
			}
			return rotor
		},
		"vault-k8s-root": func(p string) string { return filepath.Join(stage, p) },
	}
	st, ok := stages["vault-k8s-root"]
	if !ok {
		t.Fatal("the Dockerfile has no vault-k8s-root stage")
	}
	for _, l := range st.lines {
		switch {
		case strings.HasPrefix(l, "COPY "):
			dockerCopy(t, stage, l, from)
		case strings.HasPrefix(l, "RUN "):
			cmd := exec.Command("/bin/sh", "-c", strings.TrimPrefix(l, "RUN "))
			cmd.SysProcAttr = chrootAttr(stage)
			cmd.Dir = "/"
			cmd.Env = []string{"PATH=/bin"}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("vault-k8s-root: %s: %v\n%s", l, err, out)
			}
		default:
			t.Fatalf("vault-k8s-root: the test does not know %q", l)
		}
	}

	img := &imageLayout{root: mkRoot(t), env: []string{distrolessPath}, workdir: "/"}
	st, ok = stages["vault-k8s"]
	if !ok {
		t.Fatal("the Dockerfile has no vault-k8s stage")
	}
	if !strings.HasPrefix(st.from, "gcr.io/distroless/static") {
		t.Errorf("the vault-k8s stage is FROM %s, want distroless/static (its PATH is assumed)", st.from)
	}
	for _, l := range st.lines {
		f := strings.Fields(l)
		switch f[0] {
		case "COPY":
			dockerCopy(t, img.root, l, from)
		case "USER":
			u, g, _ := strings.Cut(f[1], ":")
			img.uid, img.gid = atou32(t, u), atou32(t, g)
		case "ENV":
			img.env = append(img.env, f[1])
		case "WORKDIR":
			img.workdir = f[1]
		case "ENTRYPOINT", "CMD":
		default:
			t.Fatalf("vault-k8s: the test does not know %q", l)
		}
	}
	// The container runtime, not the image, provides /dev.
	mustRun(t, "mkdir", "-m", "0755", img.path("/dev"))
	mustRun(t, "mknod", "-m", "0666", img.path("/dev/null"), "c", "1", "3")
	return img
}

// command is argv run in the image as its user, with the image's
// environment followed by env, from its working directory.
func (img *imageLayout) command(env []string, argv ...string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Path = argv[0] // a path in the image, not looked up on this machine
	cmd.SysProcAttr = imageAttr(img.root, img.uid, img.gid)
	cmd.Dir = img.workdir
	cmd.Env = append(append([]string{}, img.env...), env...)
	return cmd
}

// path is p in the image, on this machine.
func (img *imageLayout) path(p string) string { return filepath.Join(img.root, p) }

// mkRoot is a new directory others may enter (t.TempDir's are 0700).
func mkRoot(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dockerCopy carries out a COPY --from line into root: a source ending in
// "/" copies a directory's contents, --chown owns what was copied.
func dockerCopy(t *testing.T, root, line string, from map[string]func(string) string) {
	t.Helper()
	f := strings.Fields(line)[1:]
	var src func(string) string
	var chown string
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		switch k, v, _ := strings.Cut(f[0], "="); k {
		case "--from":
			src = from[v]
		case "--chown":
			chown = v
		default:
			t.Fatalf("%s: the test does not know %s", line, k)
		}
		f = f[1:]
	}
	if src == nil || len(f) < 2 {
		t.Fatalf("%s: the test copies only from a known stage", line)
	}
	dst := filepath.Join(root, f[len(f)-1])
	for _, s := range f[:len(f)-1] {
		target := dst
		switch {
		case strings.HasSuffix(s, "/"):
			mustRun(t, "mkdir", "-p", dst)
			mustRun(t, "cp", "-a", src(s)+"/.", dst+"/")
		case strings.HasSuffix(f[len(f)-1], "/"):
			mustRun(t, "mkdir", "-p", dst)
			target = filepath.Join(dst, filepath.Base(s))
			mustRun(t, "cp", "-a", src(s), target)
		default:
			mustRun(t, "mkdir", "-p", filepath.Dir(dst))
			mustRun(t, "cp", "-a", src(s), target)
		}
		if chown != "" {
			mustRun(t, "chown", "-R", "-h", chown, target)
		}
	}
}

func mustRun(t *testing.T, argv ...string) {
	t.Helper()
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
}

func atou32(t *testing.T, s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatalf("USER %q: numeric UID:GID expected", s)
	}
	return uint32(n)
}

// staticBusybox finds a statically linked busybox (Debian's
// busybox-static), which runs in the image without a C library.
func staticBusybox(t *testing.T) string {
	t.Helper()
	p := proc.Find(t, proc.Lookup{Env: "ROTOR_BUSYBOX", Paths: []string{"/bin/busybox", "/usr/bin/busybox"}, Name: "busybox",
		Missing: "no busybox: install the Debian package busybox-static (test/setup.sh does), or set ROTOR_BUSYBOX"})
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isDynamic(f) {
		proc.Missing(t, p+" is dynamically linked: install the Debian package busybox-static, or set ROTOR_BUSYBOX to a static busybox")
	}
	return p
}

// The image's layout as the injector's containers need it: a shell,
// base64, sleep and touch on the PATH and at /bin, rotor as /bin/vault
// answering as Vault, HOME at /home/vault, and the image's user unable
// to write outside the injector's volumes.
func TestVaultK8sImageLayout(t *testing.T) {
	img := vaultK8sImage(t)
	if img.uid != 100 || img.gid != 1000 {
		t.Errorf("USER %d:%d, want the injector's runAsUser 100, runAsGroup 1000", img.uid, img.gid)
	}
	out, err := img.command(nil, "/bin/sh", "-ec", `echo "$HOME"; `+
		`echo aGVsbG8= | base64 -d > /home/vault/probe && cat /home/vault/probe && echo; `+
		`touch /vault/secrets/probe && /bin/sleep 0 && vault version && /bin/rotor health -h 2>/dev/null; `+
		`if touch /probe 2>/dev/null || touch /bin/probe 2>/dev/null || touch /etc/probe 2>/dev/null; then echo WRITABLE; fi`).CombinedOutput()
	if err != nil {
		t.Fatalf("the image's shell: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 || lines[0] != "/home/vault" || lines[1] != "hello" || !strings.HasPrefix(lines[2], "rotor test") {
		t.Errorf("want HOME=/home/vault, base64 -d, and rotor's version from vault; got:\n%s", out)
	}
	if strings.Contains(string(out), "WRITABLE") {
		t.Errorf("the image's user can write outside /home/vault and /vault/secrets")
	}
	passwd, err := os.ReadFile(img.path("/etc/passwd"))
	if err != nil || !strings.Contains(string(passwd), "vault:x:100:1000:vault:/home/vault:") {
		t.Errorf("/etc/passwd has no vault user 100:1000 with home /home/vault: %v\n%s", err, passwd)
	}
}
