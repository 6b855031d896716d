package main

// Each test mounts the real binary (a child process) on a fresh backing directory, writes through the
// mount, kills the daemon with SIGKILL (the power cut), lazily unmounts the dead mount and mounts a new
// daemon on the same backing directory, then checks what survived.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var (
	buildOnce sync.Once
	binary    string
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// powercutBinary is $POWERCUT_FS_BIN (scripts/powercut-fs.sh's build) or a fresh build of this package.
func powercutBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse on this machine")
	}
	buildOnce.Do(func() {
		if binary = os.Getenv("POWERCUT_FS_BIN"); binary != "" {
			return
		}
		var err error
		if buildDir, err = os.MkdirTemp("", "powercut-bin-"); err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(buildDir, "powercut-fs")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building powercut-fs: %v", buildErr)
	}
	return binary
}

type rig struct {
	t            *testing.T
	bin          string
	flags        []string // the daemon's flags, e.g. -ordered
	backing, mnt string
	daemon       *exec.Cmd
	stderr       *bytes.Buffer
}

func newRig(t *testing.T, flags ...string) *rig {
	dir := t.TempDir()
	r := &rig{t: t, bin: powercutBinary(t), flags: flags, backing: filepath.Join(dir, "backing"), mnt: filepath.Join(dir, "mnt")}
	for _, d := range []string{r.backing, r.mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(r.cut) // before TempDir's removal, which runs last
	r.start()
	return r
}

// start mounts a new daemon and waits for its "mounted" line.
func (r *rig) start() {
	r.t.Helper()
	r.stderr = &bytes.Buffer{}
	cmd := exec.Command(r.bin, append(r.flags, r.backing, r.mnt)...)
	cmd.Stderr = r.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.daemon = cmd
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if s != "mounted "+r.mnt+"\n" {
			r.t.Fatalf("daemon said %q, stderr %q", s, r.stderr)
		}
	case <-time.After(10 * time.Second):
		r.t.Fatalf("no mount after 10 s, stderr %q", r.stderr)
	}
}

// cut is the power cut: SIGKILL the daemon, then detach its dead mount.
func (r *rig) cut() {
	if r.daemon == nil {
		return
	}
	_ = r.daemon.Process.Kill()
	_ = r.daemon.Wait()
	r.daemon = nil
	if exec.Command("fusermount3", "-u", "-z", r.mnt).Run() != nil {
		if err := exec.Command("umount", "-l", r.mnt).Run(); err != nil {
			r.t.Errorf("unmounting %s: %v", r.mnt, err)
		}
	}
}

// powerCycle cuts the power and mounts a new daemon on the same backing directory.
func (r *rig) powerCycle() {
	r.t.Helper()
	r.cut()
	r.start()
}

func (r *rig) path(name string) string { return filepath.Join(r.mnt, name) }

func (r *rig) create(name string, flag int) *os.File {
	r.t.Helper()
	f, err := os.OpenFile(r.path(name), os.O_RDWR|os.O_CREATE|flag, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	return f
}

// content reads a file through the mount and checks its stat size agrees.
func (r *rig) content(name string) string {
	r.t.Helper()
	b, err := os.ReadFile(r.path(name))
	if err != nil {
		r.t.Fatal(err)
	}
	if st, err := os.Stat(r.path(name)); err != nil || st.Size() != int64(len(b)) {
		r.t.Fatalf("%s: read %d bytes, stat says %v (%v)", name, len(b), st.Size(), err)
	}
	return string(b)
}

// backingContent is what the backing file holds: what survives a cut now.
func (r *rig) backingContent(name string) string {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.backing, name))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, f *os.File, off int64, s string) {
	t.Helper()
	if _, err := f.WriteAt([]byte(s), off); err != nil {
		t.Fatal(err)
	}
}

func fsync(t *testing.T, f *os.File) {
	t.Helper()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %s, want %s", what, short(got), short(want))
	}
}

func short(s string) string {
	if len(s) <= 40 {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:32], len(s))
}

func TestSyncedSurvivesUnsyncedIsLost(t *testing.T) {
	r := newRig(t)
	f := r.create("log", 0)
	write(t, f, 0, "synced|")
	fsync(t, f)
	write(t, f, 7, "unsynced")
	expect(t, "before the cut", r.content("log"), "synced|unsynced")
	if st, _ := f.Stat(); st.Size() != 15 {
		t.Fatalf("fstat size %d, want 15", st.Size())
	}
	expect(t, "backing before the cut", r.backingContent("log"), "synced|")

	r.cut()
	// The dead mount fails every call: no fsync can succeed after the cut.
	if err := f.Sync(); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("fsync after the cut: %v, want ENOTCONN", err)
	}
	_ = f.Close()
	r.start()
	expect(t, "after the cut", r.content("log"), "synced|")
}

// Cassandra's case: a record appended without fsync, then another file deleted. Strict, the deletion
// survives the cut and the record does not; -ordered, the record reaches the backing file first.
func TestOrderedWritesBackBeforeMetadata(t *testing.T) {
	for _, mode := range []struct {
		flags []string
		want  string
	}{{nil, "ADD|"}, {[]string{"-ordered"}, "ADD|COMMIT|"}} {
		t.Run(fmt.Sprint(mode.flags), func(t *testing.T) {
			r := newRig(t, mode.flags...)
			txn, old := r.create("txn.log", 0), r.create("old-Data.db", 0)
			write(t, txn, 0, "ADD|")
			fsync(t, txn)
			write(t, old, 0, "obsolete")
			fsync(t, old)
			write(t, txn, 4, "COMMIT|") // unsynced
			_ = old.Close()
			if err := os.Remove(r.path("old-Data.db")); err != nil {
				t.Fatal(err)
			}
			_ = txn.Close()
			r.powerCycle()
			if _, err := os.Stat(r.path("old-Data.db")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the deleted file is back: %v", err)
			}
			expect(t, "txn.log after the cut", r.content("txn.log"), mode.want)
		})
	}
	// Without a metadata operation, -ordered loses unsynced data as the strict mode does.
	r := newRig(t, "-ordered")
	f := r.create("log", 0)
	write(t, f, 0, "lost")
	_ = f.Close()
	r.powerCycle()
	expect(t, "-ordered, no barrier", r.content("log"), "")
}

func TestFdatasync(t *testing.T) {
	r := newRig(t)
	f := r.create("data", 0)
	write(t, f, 0, "datasynced")
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	write(t, f, 10, "+lost")
	_ = f.Close()
	r.powerCycle()
	expect(t, "after the cut", r.content("data"), "datasynced")
}

func TestOSyncWritesSurvive(t *testing.T) {
	r := newRig(t)
	for name, flag := range map[string]int{"sync": os.O_SYNC, "dsync": syscall.O_DSYNC} {
		f := r.create(name, flag)
		write(t, f, 0, "written "+name)
		expect(t, name+" backing right after write", r.backingContent(name), "written "+name)
		defer f.Close()
	}
	r.powerCycle()
	expect(t, "O_SYNC", r.content("sync"), "written sync")
	expect(t, "O_DSYNC", r.content("dsync"), "written dsync")
}

func TestUnsyncedOverwriteRevertsToSyncedBytes(t *testing.T) {
	r := newRig(t)
	f := r.create("page", 0)
	write(t, f, 0, "AAAAAAAAAA")
	fsync(t, f)
	write(t, f, 3, "BBB")
	expect(t, "before the cut", r.content("page"), "AAABBBAAAA")
	_ = f.Close()
	r.powerCycle()
	expect(t, "after the cut", r.content("page"), "AAAAAAAAAA")
}

func TestTruncate(t *testing.T) {
	r := newRig(t)
	pattern := strings.Repeat("0123456789abcdef", 512) // 8 KiB

	// Shrinking a synced file is metadata: durable at once.
	shrunk := r.create("shrunk", 0)
	write(t, shrunk, 0, pattern)
	fsync(t, shrunk)
	if err := shrunk.Truncate(4096); err != nil {
		t.Fatal(err)
	}

	// Truncating unsynced bytes trims the buffer; a later write past the end leaves zeros between.
	trimmed := r.create("trimmed", 0)
	write(t, trimmed, 0, pattern)
	if err := trimmed.Truncate(2048); err != nil {
		t.Fatal(err)
	}
	expect(t, "trimmed", r.content("trimmed"), pattern[:2048])
	write(t, trimmed, 4096, "x")
	want := pattern[:2048] + strings.Repeat("\x00", 2048) + "x"
	expect(t, "trimmed then written", r.content("trimmed"), want)
	fsync(t, trimmed)

	// Extending passes through (durable zeros); the unsynced bytes below stay unsynced.
	extended := r.create("extended", 0)
	write(t, extended, 0, "lost")
	if err := extended.Truncate(10000); err != nil {
		t.Fatal(err)
	}
	expect(t, "extended", r.content("extended"), "lost"+strings.Repeat("\x00", 9996))

	for _, f := range []*os.File{shrunk, trimmed, extended} {
		_ = f.Close()
	}
	r.powerCycle()
	expect(t, "shrunk after the cut", r.content("shrunk"), pattern[:4096])
	expect(t, "trimmed after the cut", r.content("trimmed"), want)
	expect(t, "extended after the cut", r.content("extended"), strings.Repeat("\x00", 10000))
}

func TestRenameOfSyncedFileKeepsItsData(t *testing.T) {
	r := newRig(t)
	f := r.create("state.tmp", 0)
	write(t, f, 0, "new state")
	fsync(t, f)
	_ = f.Close()
	if err := os.Rename(r.path("state.tmp"), r.path("state")); err != nil {
		t.Fatal(err)
	}
	r.powerCycle()
	expect(t, "renamed", r.content("state"), "new state")
	if _, err := os.Stat(r.path("state.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old name: %v", err)
	}
}

// One buffer per file: handles opened later, through another name, even read-only, share it.
func TestHandlesShareOneBufferAcrossRenames(t *testing.T) {
	r := newRig(t)
	h1 := r.create("x", 0)
	write(t, h1, 0, "one")
	if err := os.Rename(r.path("x"), r.path("y")); err != nil {
		t.Fatal(err)
	}
	h2, err := os.OpenFile(r.path("y"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, _ := h2.ReadAt(buf, 0); string(buf[:n]) != "one" {
		t.Fatalf("second handle reads %q", buf[:n])
	}
	write(t, h2, 3, "two")
	if n, _ := h1.ReadAt(buf, 0); string(buf[:n]) != "onetwo" {
		t.Fatalf("first handle reads %q", buf[:n])
	}
	if st, _ := h1.Stat(); st.Size() != 6 {
		t.Fatalf("first handle's fstat size %d, want 6", st.Size())
	}
	_ = h2.Close()
	ro, err := os.Open(r.path("y"))
	if err != nil {
		t.Fatal(err)
	}
	fsync(t, ro) // on a read-only descriptor: persists what the others wrote
	write(t, h1, 6, "three")
	_ = ro.Close()
	_ = h1.Close()
	r.powerCycle()
	expect(t, "after the cut", r.content("y"), "onetwo")
}

func TestCreatedUnsyncedFileKeepsNameNotData(t *testing.T) {
	r := newRig(t)
	f := r.create("fresh", 0)
	write(t, f, 0, "never synced")
	_ = f.Close() // close persists nothing
	expect(t, "before the cut", r.content("fresh"), "never synced")
	r.powerCycle()
	expect(t, "after the cut", r.content("fresh"), "")
}

func TestMmapWritesSurviveOnlyWithMsync(t *testing.T) {
	r := newRig(t)
	const page = 4096
	f := r.create("mapped", 0)
	if err := f.Truncate(2 * page); err != nil {
		t.Fatal(err)
	}
	fsync(t, f)
	m, err := unix.Mmap(int(f.Fd()), 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	copy(m, "msynced")
	if err := unix.Msync(m[:page], unix.MS_SYNC); err != nil {
		t.Fatal(err)
	}
	copy(m[page:], "not msynced")
	if err := unix.Munmap(m); err != nil { // the kernel writes the dirty page back, unsynced
		t.Fatal(err)
	}
	_ = f.Close()
	before := r.content("mapped")
	expect(t, "page 2 before the cut", before[page:page+11], "not msynced")
	r.powerCycle()
	after := r.content("mapped")
	expect(t, "page 1 after the cut", after[:7], "msynced")
	expect(t, "page 2 after the cut", after[page:page+11], strings.Repeat("\x00", 11))
}

// The buffer of an unlinked file goes with it: a new file (maybe on the same inode number) is empty.
func TestUnlinkDropsTheBuffer(t *testing.T) {
	r := newRig(t)
	f := r.create("gone", 0)
	write(t, f, 0, "unsynced")
	_ = f.Close()
	if err := os.Remove(r.path("gone")); err != nil {
		t.Fatal(err)
	}
	g := r.create("gone", 0)
	_ = g.Close()
	expect(t, "recreated", r.content("gone"), "")
}

func TestDirectoryFsyncAndCleanStop(t *testing.T) {
	r := newRig(t)
	if err := os.Mkdir(r.path("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := r.create("dir/file", 0)
	write(t, f, 0, "synced|")
	fsync(t, f)
	write(t, f, 7, "unsynced")
	_ = f.Close()
	d, err := os.Open(r.path("dir"))
	if err != nil {
		t.Fatal(err)
	}
	fsync(t, d)
	_ = d.Close()

	// SIGTERM unmounts without writing the buffered bytes: a clean stop is a cut too.
	if err := r.daemon.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r.daemon.Wait(); err != nil {
		t.Fatalf("daemon exit after SIGTERM: %v (stderr %q)", err, r.stderr)
	}
	r.daemon = nil
	mounts, _ := os.ReadFile("/proc/self/mounts")
	if strings.Contains(string(mounts), " "+r.mnt+" ") {
		t.Fatal("still mounted after SIGTERM")
	}
	expect(t, "backing after SIGTERM", r.backingContent("dir/file"), "synced|")
}
