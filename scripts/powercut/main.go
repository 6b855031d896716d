// powercut-fs mounts a pass-through view of a directory that keeps every data write in memory until
// the file is fsynced: killing it (SIGKILL) is a power cut that loses exactly the unsynced writes.
// The technique of Jepsen's LazyFS, written for go-fuse.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

const usage = `usage: powercut-fs [-debug] [-xattrs] [-ordered] <backing-dir> <mountpoint>

Mounts <backing-dir> at <mountpoint> and serves it in the foreground. Data written to a file is kept in
this process's memory until fsync/fdatasync (or a write on an O_SYNC/O_DSYNC descriptor) writes it to
the backing file and syncs it; metadata (create, rename, unlink, truncate, chmod, …) goes straight
through. With -ordered, a metadata operation first writes back every file's unsynced data (the order
ext4's data=ordered journal keeps). Extended attributes are not supported unless -xattrs. Prints "mounted <mountpoint>" once the
mount serves.

Power cut: kill -KILL the process. The unsynced writes are lost, the backing directory holds what was
synced, and the dead mount fails every further call (ENOTCONN). Then "fusermount3 -uz <mountpoint>"
(or "umount -l") and mount a new powercut-fs on the same backing directory to power back on.
SIGTERM/SIGINT unmount (lazily) and exit WITHOUT writing the unsynced data: a clean stop is a cut too.
`

func main() {
	debug := flag.Bool("debug", false, "log every FUSE request and reply (slow)")
	xattrs := flag.Bool("xattrs", false, "pass extended attributes through (halves write throughput: see serve)")
	ordered := flag.Bool("ordered", false, "write back all unsynced data before each metadata operation (ext4 data=ordered)")
	flag.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	backing, err := filepath.Abs(flag.Arg(0))
	if err == nil {
		var mnt string
		if mnt, err = filepath.Abs(flag.Arg(1)); err == nil {
			err = serve(backing, mnt, *debug, *xattrs, *ordered)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "powercut-fs:", err)
		os.Exit(1)
	}
}

func serve(backing, mnt string, debug, xattrs, ordered bool) error {
	root, err := newRoot(backing, ordered)
	if err != nil {
		return err
	}
	// The kernel may cache entries and attributes for a second: every change goes through this mount,
	// and the kernel updates the size it caches on each write (and takes truncates' from the reply), so
	// the writer never sees a stale size. No writeback cache: each write reaches this process before
	// write(2) returns, so "visible before the cut" is the process's own memory.
	sec := time.Second
	opts := &fs.Options{
		EntryTimeout:    &sec,
		AttrTimeout:     &sec,
		NegativeTimeout: &sec,
		MountOptions: fuse.MountOptions{
			FsName:  backing,
			Name:    "powercut",
			Debug:   debug,
			Options: []string{"default_permissions"}, // the kernel checks permissions: no ACCESS round trips
			// Without xattrs the kernel stops asking for security.capability before every write (its
			// suid/capability-dropping check), a second round trip per write(2).
			DisableXAttrs: !xattrs,
			// Up to 1 MiB a request (the kernel's limit may be lower): fewer round trips for big writes.
			MaxWrite:      1 << 20,
			MaxBackground: 64, // mmap writeback and readahead are background requests
		},
	}
	server, err := fs.Mount(mnt, root, opts)
	if err != nil {
		return err
	}
	fmt.Println("mounted", mnt)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		// Detach and exit without applying any buffered write; the exit aborts the connection, so
		// a process still holding a file gets ENOTCONN, as after SIGKILL.
		if unix.Unmount(mnt, unix.MNT_DETACH) != nil {
			_ = exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
		os.Exit(0)
	}()
	server.Wait()
	return nil
}
