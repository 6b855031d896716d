package main

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// The fault model: data written to a regular file stays in this process's memory until an fsync (or
// fdatasync, or a write on an O_SYNC/O_DSYNC descriptor) applies it to the backing file. Killing the
// process is the power cut: what was not synced is gone. Metadata operations (create, mkdir, unlink,
// rmdir, rename, link, symlink, chmod, chown, utimens, truncate, fallocate) go straight through to the
// backing directory, so metadata is more durable here than on a real disk: this fault model loses
// unsynced DATA, not unsynced directory entries or sizes set by truncate.
//
// With -ordered, every metadata operation is first preceded by writing back all unsynced data (not
// synced, just applied to the backing files): a later directory change never outlives an earlier write.
// That is the ordering ext4's default data=ordered journal gives a program (the data of a transaction's
// inodes reaches the disk before the transaction's metadata), and what some programs rely on without an
// fsync: Cassandra 5.0 appends an SSTable transaction's COMMIT record unsynced, then deletes the
// obsolete files; without the ordering a cut between the two leaves a log it refuses to start with.

// powercutFS holds the unsynced state of every regular file that has some, or has a handle open.
type powercutFS struct {
	mu      sync.Mutex
	files   map[fileKey]*file
	ordered bool // -ordered: metadata operations first write back all unsynced data (barrier)
}

// fileKey names a backing file: go-fuse's inode number (from the backing one) and generation (from its
// birth time), so a new file that reuses an unlinked file's inode number never sees its buffer.
type fileKey struct{ ino, gen uint64 }

func keyOf(in *fs.Inode) fileKey {
	a := in.StableAttr()
	return fileKey{a.Ino, a.Gen}
}

// file is one regular file's unsynced writes, shared by all its handles and names: the kernel writes
// mmap'ed pages back through any writable handle, and fsync may come on another one.
type file struct {
	mu    sync.RWMutex
	ext   extents
	mtime time.Time // of the last unsynced write, reported until the backing file's is later
	opens int       // guarded by powercutFS.mu
	wfd   int       // -ordered only: a writable descriptor for the barrier (a dup of a writer's), or -1
}

func (p *powercutFS) open(k fileKey) *file {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.files[k]
	if f == nil {
		f = &file{wfd: -1}
		p.files[k] = f
	}
	f.opens++
	return f
}

func (p *powercutFS) lookup(k fileKey) *file {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.files[k]
}

// release forgets the file's state when its last handle closes and it has nothing unsynced or no name
// left to be opened by.
func (p *powercutFS) release(k fileKey, f *file, fd int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.opens--; f.opens > 0 {
		return
	}
	var st unix.Stat_t
	f.mu.RLock()
	idle := len(f.ext) == 0 || (unix.Fstat(fd, &st) == nil && st.Nlink == 0)
	f.mu.RUnlock()
	if idle {
		p.forget(k, f)
	}
}

// forget drops a file's state and its barrier descriptor; the caller holds p.mu.
func (p *powercutFS) forget(k fileKey, f *file) {
	delete(p.files, k)
	if f.wfd >= 0 {
		_ = unix.Close(f.wfd)
		f.wfd = -1
	}
}

// barrier (with -ordered) applies every file's unsynced bytes to its backing file before a metadata
// operation goes through, so that the operation cannot survive a cut that the earlier writes do not.
func (p *powercutFS) barrier() {
	if !p.ordered {
		return
	}
	p.mu.Lock()
	pending := make([]*file, 0, len(p.files))
	for _, f := range p.files {
		pending = append(pending, f)
	}
	p.mu.Unlock()
	for _, f := range pending {
		f.mu.Lock()
		if len(f.ext) > 0 && f.wfd >= 0 && f.ext.apply(f.wfd) == nil {
			f.ext.clear()
		}
		f.mu.Unlock()
	}
}

// forgetUnlinked drops the unsynced bytes of a file whose last name was removed, unless a handle still
// reads them (its release does it then).
func (p *powercutFS) forgetUnlinked(k fileKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.files[k]; f != nil && f.opens == 0 {
		p.forget(k, f)
	}
}

// adjust makes attributes read from the backing file show the unsynced writes: the size reaches the
// end of the last buffered byte and the mtime is that of the last write.
func (f *file) adjust(size, blocks *uint64, mtime *time.Time) {
	if f == nil {
		return
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if end := uint64(f.ext.size()); end > *size {
		*size = end
		*blocks = max(*blocks, (end+511)/512)
	}
	if f.mtime.After(*mtime) {
		*mtime = f.mtime
	}
}

// node is a go-fuse loopback node whose regular files buffer their writes.
type node struct {
	*fs.LoopbackNode
	p *powercutFS
}

var (
	_ = (fs.NodeWrapChilder)((*node)(nil))
	_ = (fs.NodeGetattrer)((*node)(nil))
	_ = (fs.NodeStatxer)((*node)(nil))
	_ = (fs.NodeSetattrer)((*node)(nil))
	_ = (fs.NodeLookuper)((*node)(nil))
	_ = (fs.NodeLinker)((*node)(nil))
	_ = (fs.NodeOpener)((*node)(nil))
	_ = (fs.NodeCreater)((*node)(nil))
	_ = (fs.NodeTmpfiler)((*node)(nil))
	_ = (fs.NodeUnlinker)((*node)(nil))
	_ = (fs.NodeRenamer)((*node)(nil))
	_ = (fs.NodeCopyFileRanger)((*node)(nil))
	_ = (fs.NodeMkdirer)((*node)(nil))
	_ = (fs.NodeRmdirer)((*node)(nil))
	_ = (fs.NodeSymlinker)((*node)(nil))
)

func newRoot(dir string, ordered bool) (*node, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return nil, err
	}
	lr := &fs.LoopbackRoot{Path: dir, Dev: st.Dev}
	root := &node{&fs.LoopbackNode{RootData: lr}, &powercutFS{files: map[fileKey]*file{}, ordered: ordered}}
	lr.RootNode = root
	return root, nil
}

// WrapChild makes every node the loopback creates (lookup, create, mkdir, …) one of ours.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{ops.(*fs.LoopbackNode), n.p}
}

func (n *node) path() string {
	return filepath.Join(n.RootData.Path, n.Path(n.Root()))
}

// state is the file's unsynced state, if it has any: the handle's, else the one kept by key.
func (n *node) state(f fs.FileHandle) *file {
	if h, ok := f.(*handle); ok {
		return h.f
	}
	if n.Mode()&syscall.S_IFMT != syscall.S_IFREG {
		return nil
	}
	return n.p.lookup(keyOf(n.EmbeddedInode()))
}

// backingFile is the loopback handle under ours (an untyped nil if none, as the loopback expects).
func backingFile(f fs.FileHandle) fs.FileHandle {
	if h, ok := f.(*handle); ok {
		return h.lf
	}
	return nil
}

func adjustAttr(f *file, a *fuse.Attr) {
	if f == nil {
		return
	}
	mtime := time.Unix(int64(a.Mtime), int64(a.Mtimensec))
	f.adjust(&a.Size, &a.Blocks, &mtime)
	if mtime.Unix() != int64(a.Mtime) || mtime.Nanosecond() != int(a.Mtimensec) {
		a.SetTimes(nil, &mtime, &mtime)
	}
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if errno := n.LoopbackNode.Getattr(ctx, backingFile(f), out); errno != 0 {
		return errno
	}
	adjustAttr(n.state(f), &out.Attr)
	return 0
}

func (n *node) Statx(ctx context.Context, f fs.FileHandle, flags, mask uint32, out *fuse.StatxOut) syscall.Errno {
	if errno := n.LoopbackNode.Statx(ctx, backingFile(f), flags, mask, out); errno != 0 {
		return errno
	}
	if st := n.state(f); st != nil {
		mtime := time.Unix(int64(out.Mtime.Sec), int64(out.Mtime.Nsec))
		st.adjust(&out.Size, &out.Blocks, &mtime)
		if uint64(mtime.Unix()) != out.Mtime.Sec || uint32(mtime.Nanosecond()) != out.Mtime.Nsec {
			out.Mtime = fuse.SxTime{Sec: uint64(mtime.Unix()), Nsec: uint32(mtime.Nanosecond())}
			out.Ctime = out.Mtime
		}
	}
	return 0
}

// Setattr passes chmod, chown, utimens and truncate through; a truncate also forgets the unsynced bytes
// past the new size (the backing file takes the new size at once, so an extension is durable zeros).
func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.p.barrier()
	st := n.state(f)
	size, resize := in.GetSize()
	if st != nil && resize {
		// Held across both, so a concurrent fsync cannot write buffered bytes past the new end.
		st.mu.Lock()
		errno := n.LoopbackNode.Setattr(ctx, backingFile(f), in, out)
		if errno == 0 {
			st.ext.truncate(int64(size))
		}
		st.mu.Unlock()
		if errno != 0 {
			return errno
		}
	} else if errno := n.LoopbackNode.Setattr(ctx, backingFile(f), in, out); errno != 0 {
		return errno
	}
	adjustAttr(st, &out.Attr)
	return 0
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ch, errno := n.LoopbackNode.Lookup(ctx, name, out)
	if errno == 0 {
		adjustAttr(ch.Operations().(*node).state(nil), &out.Attr)
	}
	return ch, errno
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.p.barrier()
	ch, errno := n.LoopbackNode.Link(ctx, target, name, out)
	if errno == 0 {
		adjustAttr(ch.Operations().(*node).state(nil), &out.Attr)
	}
	return ch, errno
}

// backingFlags opens the backing file without O_DIRECT (the buffered bytes are written at any offset
// and length) and without O_SYNC/O_DSYNC (the handle applies and fsyncs itself).
func backingFlags(flags uint32) uint32 {
	return flags &^ uint32(syscall.O_DIRECT|syscall.O_SYNC|syscall.O_DSYNC)
}

// The open flags keep the kernel's page cache across opens: every change to the data goes through
// this mount, so the cached pages are never stale.
const openFlags = fuse.FOPEN_KEEP_CACHE

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	lf, _, errno := n.LoopbackNode.Open(ctx, backingFlags(flags))
	if errno != 0 {
		return nil, 0, errno
	}
	return n.p.newHandle(n.EmbeddedInode(), lf, flags), openFlags, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	n.p.barrier()
	ch, lf, _, errno := n.LoopbackNode.Create(ctx, name, backingFlags(flags), mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	h := n.p.newHandle(ch, lf, flags)
	adjustAttr(h.f, &out.Attr)
	return ch, h, openFlags, 0
}

func (n *node) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	ch, lf, _, errno := n.LoopbackNode.Tmpfile(ctx, backingFlags(flags), mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return ch, n.p.newHandle(ch, lf, flags), openFlags, 0
}

// lastLink says whether removing dir/name removes the file's last name.
func lastLink(dir, name string) bool {
	var st unix.Stat_t
	return unix.Lstat(filepath.Join(dir, name), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink <= 1
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	n.p.barrier()
	ch, last := n.GetChild(name), lastLink(n.path(), name)
	if errno := n.LoopbackNode.Unlink(ctx, name); errno != 0 {
		return errno
	}
	if ch != nil && last {
		n.p.forgetUnlinked(keyOf(ch))
	}
	return 0
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	n.p.barrier()
	// A rename over a file removes that file's name, as unlink does.
	var victim *fs.Inode
	last := false
	if np, ok := newParent.(*node); ok && flags&unix.RENAME_EXCHANGE == 0 {
		victim, last = np.GetChild(newName), lastLink(np.path(), newName)
	}
	src := n.GetChild(name)
	if errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags); errno != 0 {
		return errno
	}
	if victim != nil && last && (src == nil || keyOf(src) != keyOf(victim)) {
		n.p.forgetUnlinked(keyOf(victim))
	}
	return 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.p.barrier()
	return n.LoopbackNode.Mkdir(ctx, name, mode, out)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	n.p.barrier()
	return n.LoopbackNode.Rmdir(ctx, name)
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.p.barrier()
	return n.LoopbackNode.Symlink(ctx, target, name, out)
}

// CopyFileRange is left to the kernel's fallback (read and write through this mount): the loopback's
// would copy the backing bytes, without the unsynced ones.
func (n *node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut uint64, len uint64, flags uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

// handle is an open regular file: reads and writes go to its file's buffer over the backing fd.
type handle struct {
	p        *powercutFS
	key      fileKey
	f        *file
	lf       *fs.LoopbackFile // owns fd
	fd       int
	writable bool
	sync     uint32 // O_SYNC or O_DSYNC: every write is applied and synced before the reply
}

var (
	_ = (fs.FileReader)((*handle)(nil))
	_ = (fs.FileWriter)((*handle)(nil))
	_ = (fs.FileWritever)((*handle)(nil))
	_ = (fs.FileFsyncer)((*handle)(nil))
	_ = (fs.FileFlusher)((*handle)(nil))
	_ = (fs.FileReleaser)((*handle)(nil))
	_ = (fs.FileAllocater)((*handle)(nil))
	_ = (fs.FileLseeker)((*handle)(nil))
)

func (p *powercutFS) newHandle(in *fs.Inode, fh fs.FileHandle, flags uint32) *handle {
	lf := fh.(*fs.LoopbackFile)
	fd, _ := lf.PassthroughFd() // the descriptor, which lf keeps open until Release
	k := keyOf(in)
	h := &handle{p: p, key: k, f: p.open(k), lf: lf, fd: fd, writable: flags&syscall.O_ACCMODE != syscall.O_RDONLY}
	switch {
	case flags&syscall.O_SYNC == syscall.O_SYNC:
		h.sync = syscall.O_SYNC
	case flags&syscall.O_DSYNC != 0:
		h.sync = syscall.O_DSYNC
	}
	if flags&syscall.O_TRUNC != 0 {
		h.f.mu.Lock()
		h.f.ext.clear()
		h.f.mu.Unlock()
	}
	return h
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.f.mu.RLock()
	defer h.f.mu.RUnlock()
	n := 0
	for n < len(dest) {
		m, err := unix.Pread(h.fd, dest[n:], off+int64(n))
		if err != nil {
			return nil, fs.ToErrno(err)
		}
		if m == 0 {
			break
		}
		n += m
	}
	// Past the backing file's end, up to the last buffered byte, the file reads as zeros and writes.
	if end := h.f.ext.size(); end > off+int64(n) {
		m := int(min(int64(len(dest)), end-off))
		clear(dest[n:m])
		n = m
	}
	h.f.ext.overlay(dest[:n], off)
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	return h.Writev(ctx, [][]byte{data}, off)
}

func (h *handle) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	n := 0
	for _, d := range data {
		h.f.ext.write(off+int64(n), d)
		n += len(d)
	}
	h.f.mtime = time.Now()
	if h.p.ordered && h.f.wfd < 0 {
		if fd, err := unix.Dup(h.fd); err == nil {
			h.f.wfd = fd
		}
	}
	if h.sync != 0 {
		if errno := h.persist(h.sync == syscall.O_DSYNC); errno != 0 {
			return 0, errno
		}
	}
	return uint32(n), 0
}

// fsyncFdatasync is FUSE_FSYNC_FDATASYNC, the fsync flag of fdatasync(2).
const fsyncFdatasync = 1

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	return h.persist(flags&fsyncFdatasync != 0)
}

// persist applies the file's unsynced bytes (from every handle) to the backing file and syncs it; the
// caller holds h.f.mu. Only after the sync are the bytes dropped from memory.
func (h *handle) persist(datasync bool) syscall.Errno {
	fd := h.fd
	if len(h.f.ext) > 0 && !h.writable {
		// fsync may come on a read-only descriptor: write through a writable one to the same file.
		w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(h.fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fs.ToErrno(err)
		}
		defer unix.Close(w)
		fd = w
	}
	if err := h.f.ext.apply(fd); err != nil {
		return fs.ToErrno(err)
	}
	sync := unix.Fsync
	if datasync {
		sync = unix.Fdatasync
	}
	if err := sync(fd); err != nil {
		return fs.ToErrno(err)
	}
	h.f.ext.clear()
	return 0
}

// Flush (each close) persists nothing: only fsync does.
func (h *handle) Flush(ctx context.Context) syscall.Errno { return 0 }

func (h *handle) Release(ctx context.Context) syscall.Errno {
	h.p.release(h.key, h.f, h.fd)
	return h.lf.Release(ctx)
}

// Allocate passes fallocate through; punching or zeroing a range also forgets its unsynced bytes.
// Collapsing or inserting a range would shift them, which this does not model.
func (h *handle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	if mode&(unix.FALLOC_FL_COLLAPSE_RANGE|unix.FALLOC_FL_INSERT_RANGE) != 0 && len(h.f.ext) > 0 {
		return syscall.EOPNOTSUPP
	}
	if errno := h.lf.Allocate(ctx, off, size, mode); errno != 0 {
		return errno
	}
	if mode&(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_ZERO_RANGE) != 0 {
		h.f.ext.punch(int64(off), int64(off+size))
	}
	return 0
}

// Lseek answers SEEK_DATA and SEEK_HOLE as if the file had no holes (the backing file's holes may
// hold unsynced bytes).
func (h *handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(h.fd, &st); err != nil {
		return 0, fs.ToErrno(err)
	}
	h.f.mu.RLock()
	size := uint64(max(st.Size, h.f.ext.size()))
	h.f.mu.RUnlock()
	switch {
	case whence != unix.SEEK_DATA && whence != unix.SEEK_HOLE:
		return 0, syscall.EINVAL
	case off >= size && (whence == unix.SEEK_DATA || off > size):
		return 0, syscall.ENXIO
	case whence == unix.SEEK_DATA:
		return off, 0
	default:
		return size, 0
	}
}
