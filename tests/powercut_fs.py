"""A FUSE filesystem that forgets, on a simulated power cut, everything that
was not made durable: test infrastructure for tests/kiosk/capture/test_store_power_cut.py.

    python tests/powercut_fs.py BACKING MOUNTPOINT

It mounts MOUNTPOINT in the foreground, backed by the real directory
BACKING, and models a disk behind a page cache that never writes back on
its own: the power cut comes before the kernel wrote back anything that was
not explicitly synced (one outcome a real power cut can have):

* While mounted, the whole tree lives in this process's memory (loaded from
  BACKING at mount). Reads and listings see the current state, as a page
  cache does.
* Data: write, truncate and chmod change only the current state of the
  file. fsync or fdatasync of the file copies its bytes (and mode) to its
  durable state. A file never synced comes back empty.
* Names: create, mkdir, unlink, rmdir and rename change only the current
  entries of the directories involved. fsync of a directory copies that
  directory's entries to its durable state. Entries point at inodes, so a
  file keeps its durable data across a rename, and an unlinked file's data
  survives under its old name until the unlink is made durable.
* Choice: fsync of a file does NOT make the file's own directory entry (nor
  its parent directories' entries) durable. fsync(2) promises only the file
  ("an explicit fsync() on a file descriptor for the directory is also
  needed"). ext4 does more in practice (a journal commit takes every pending
  metadata change with it; without a journal it syncs newly created parents),
  but not every filesystem does, and code that passes the strict rule is
  safe on all of them, so the model uses the strict rule.
* A rename across directories is two independent entry changes (after a cut
  the file may be in both places or in neither); within one directory it is
  atomic. The kiosk store only renames within a directory.
* Not modelled: partial writeback (some unsynced writes reaching the disk
  anyway, in any order), torn sectors, an fsync half done when the power
  goes (each operation runs whole under one lock, before or after the cut),
  timestamps, ownership, links, xattrs.

Control, on stdin, one command a line; answers on stdout:

    (at start)  -> "mounted"
    cut         -> "cut": the power cut. From then on every operation fails
                   with EIO, and BACKING is rewritten to hold exactly the
                   durable state. Unmount afterwards (fusermount3 -u, -uz if
                   busy); mount BACKING again to see what survived.
    cut-at N    -> "cut" later: the power cut happens just before the N-th
                   state-changing operation from now (write, truncate, fsync,
                   create, rename, ...), which then fails with EIO. Cut points
                   spread over operations instead of wall-clock time reach
                   the short windows (between an fsync and the next) as often
                   as the long ones.

An unmount without a cut is a clean shutdown: BACKING gets the full current
state, as umount syncs. EOF on stdin (the test went away) is a cut followed
by a lazy unmount, so a dead test leaves no mount behind.

`Mount` below is the test side: it starts this process and drives it.
"""

from __future__ import annotations

import errno
import os
import select
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self


def missing() -> str | None:
    """Why a FUSE mount cannot work here, or None."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing (provisioning/setup.sh --test installs fuse3)"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is missing (provisioning/setup.sh --test installs fuse3)"
    try:
        import mfusepy  # noqa: F401  (loads libfuse3 too)
    except (ImportError, OSError) as err:
        return f"mfusepy/libfuse3 unusable: {err}"
    return None


# --------------------------------------------------------------- the filesystem


class Node:
    """An inode: current state (what reads see) and durable state (what a cut keeps)."""

    _next_ino = 1

    def __init__(self, is_dir: bool, mode: int, data: bytes = b"", durable: bool = False) -> None:
        Node._next_ino += 1
        self.ino = Node._next_ino
        self.is_dir = is_dir
        self.mode = mode & 0o7777
        self.mtime = time.time_ns()
        self.data = bytearray(data)  # files
        self.entries: dict[str, Node] = {}  # directories
        # Durable state: as of the last fsync (file) / fsync of the directory.
        self.durable_mode = self.mode
        self.durable_data: bytes | None = bytes(data) if durable else None
        self.durable_entries: dict[str, Node] = {}


def _fs_class():
    import mfusepy
    from mfusepy import FuseOSError

    class PowerCutFS(mfusepy.Operations):
        use_ns = True

        def __init__(self, backing: Path, mountpoint: str) -> None:
            self.backing = backing
            self.mountpoint = mountpoint
            self.mutex = threading.Lock()  # not 'lock': that name is a FUSE operation
            self.state = "live"  # live -> cut | closed
            self.countdown: int | None = None  # cut-at N: state-changing operations left
            self.handles: dict[int, Node] = {}
            self.next_fh = 1
            self.root = Node(True, 0o755)
            self._load(backing, self.root)

        # ---- loading and writing BACKING

        def _load(self, folder: Path, node: Node) -> None:
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    child = Node(True, st.st_mode)
                    self._load(Path(entry.path), child)
                elif stat.S_ISREG(st.st_mode):
                    child = Node(False, st.st_mode, Path(entry.path).read_bytes(), durable=True)
                else:
                    continue
                node.entries[entry.name] = child
                node.durable_entries[entry.name] = child  # what is on disk is durable

        def _materialise(self, durable: bool) -> None:
            """Rewrite BACKING as the durable state (a cut) or the current one (clean unmount)."""
            for entry in os.scandir(self.backing):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)

            def write(node: Node, folder: Path, seen: frozenset[int]) -> None:
                entries = node.durable_entries if durable else node.entries
                for name, child in entries.items():
                    path = folder / name
                    mode = child.durable_mode if durable else child.mode
                    if child.is_dir:
                        if child.ino in seen:  # a cycle made by unsynced renames: cut it
                            continue
                        path.mkdir()
                        write(child, path, seen | {child.ino})
                    else:
                        data = child.durable_data if durable else child.data
                        path.write_bytes(data or b"")
                    os.chmod(path, mode)

            write(self.root, self.backing, frozenset({self.root.ino}))

        # ---- the control channel (stdin/stdout)

        def init_with_config(self, conn_info, config_3) -> None:
            threading.Thread(target=self._control, daemon=True).start()
            print("mounted", flush=True)

        def _control(self) -> None:
            for line in sys.stdin:
                words = line.split()
                if words == ["cut"]:
                    self.power_cut()
                    print("cut", flush=True)
                elif len(words) == 2 and words[0] == "cut-at":
                    with self.mutex:
                        self.countdown = int(words[1])
            self.power_cut()  # the test went away: leave nothing mounted
            subprocess.run(["fusermount3", "-uz", self.mountpoint],
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def power_cut(self) -> None:
            with self.mutex:
                self._cut()

        def _cut(self) -> None:
            if self.state == "live":
                self.state = "cut"
                self._materialise(durable=True)

        def destroy(self, path: str) -> None:
            with self.mutex:
                if self.state == "live":  # clean unmount: everything reaches the disk
                    self._materialise(durable=False)
                self.state = "closed"

        # ---- helpers (every operation runs under self.mutex, after _check)

        def _check(self, changes: bool = False) -> None:
            """Fail once the power is off; changes=True: this operation changes state (cut-at N)."""
            if changes and self.countdown is not None:
                self.countdown -= 1
                if self.countdown <= 0:
                    self.countdown = None
                    self._cut()
                    print("cut", flush=True)
            if self.state != "live":
                raise FuseOSError(errno.EIO)  # the disk has no power

        def _lookup(self, path: str) -> Node:
            node = self.root
            for part in path.strip("/").split("/"):
                if not part:
                    continue
                if not node.is_dir or part not in node.entries:
                    raise FuseOSError(errno.ENOENT)
                node = node.entries[part]
            return node

        def _parent(self, path: str) -> tuple[Node, str]:
            head, _, name = path.rstrip("/").rpartition("/")
            parent = self._lookup(head or "/")
            if not parent.is_dir:
                raise FuseOSError(errno.ENOTDIR)
            return parent, name

        def _node(self, path: str | None, fh: int | None) -> Node:
            if fh and fh in self.handles:
                return self.handles[fh]
            if path is None:
                raise FuseOSError(errno.ENOENT)
            return self._lookup(path)

        def _handle(self, node: Node) -> int:
            fh = self.next_fh
            self.next_fh += 1
            self.handles[fh] = node
            return fh

        # ---- reading (the current state)

        def getattr(self, path, fh=None):
            with self.mutex:
                self._check()
                node = self._node(path, fh)
                kind = stat.S_IFDIR if node.is_dir else stat.S_IFREG
                size = 4096 if node.is_dir else len(node.data)
                return {"st_mode": kind | node.mode, "st_ino": node.ino, "st_size": size,
                        "st_nlink": 2 if node.is_dir else 1, "st_uid": os.getuid(),
                        "st_gid": os.getgid(), "st_blocks": (size + 511) // 512,
                        "st_atime": node.mtime, "st_mtime": node.mtime, "st_ctime": node.mtime}

        def readdir(self, path, fh):
            with self.mutex:
                self._check()
                node = self._node(path, fh)
                # With use_ino the listing carries st_ino (glibc skips entries whose ino is 0).
                listing = [(".", node), ("..", node), *node.entries.items()]
                return [(name, {"st_ino": n.ino, "st_mode": stat.S_IFDIR if n.is_dir else stat.S_IFREG}, 0)
                        for name, n in listing]

        def read(self, path, size, offset, fh):
            with self.mutex:
                self._check()
                return bytes(self._node(path, fh).data[offset:offset + size])

        def statfs(self, path):
            with self.mutex:
                self._check()
                st = os.statvfs(self.backing)
                return {key: getattr(st, key) for key in (
                    "f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail",
                    "f_files", "f_ffree", "f_favail", "f_namemax")}

        # ---- handles (no durability meaning: close is not fsync)

        def open(self, path, flags):
            with self.mutex:
                self._check(changes=bool(flags & os.O_TRUNC))
                node = self._lookup(path)
                if flags & os.O_TRUNC:
                    del node.data[:]
                return self._handle(node)

        def opendir(self, path):
            with self.mutex:
                self._check()
                return self._handle(self._lookup(path))

        def release(self, path, fh):
            with self.mutex:
                self.handles.pop(fh, None)
                return 0

        releasedir = release

        def flush(self, path, fh):
            with self.mutex:
                self._check()
                return 0

        # ---- data: volatile until fsync of the file

        def write(self, path, data, offset, fh):
            with self.mutex:
                self._check(changes=True)
                buf = self._node(path, fh).data
                if len(buf) < offset:
                    buf.extend(bytes(offset - len(buf)))
                buf[offset:offset + len(data)] = data
                return len(data)

        def truncate(self, path, length, fh=None):
            with self.mutex:
                self._check(changes=True)
                buf = self._node(path, fh).data
                if length < len(buf):
                    del buf[length:]
                else:
                    buf.extend(bytes(length - len(buf)))
                return 0

        def chmod(self, path, mode):
            with self.mutex:
                self._check(changes=True)
                node = self._lookup(path)
                node.mode = mode & 0o7777
                return 0

        def chown(self, path, uid, gid):
            with self.mutex:
                self._check(changes=True)
                return 0

        def utimens(self, path, times=None):
            with self.mutex:
                self._check(changes=True)
                self._lookup(path).mtime = times[1] if times else time.time_ns()
                return 0

        def fsync(self, path, datasync, fh):
            with self.mutex:
                self._check(changes=True)
                node = self._node(path, fh)
                node.durable_data = bytes(node.data)
                node.durable_mode = node.mode
                return 0

        # ---- names: volatile until fsync of the directory

        def fsyncdir(self, path, datasync, fh):
            with self.mutex:
                self._check(changes=True)
                node = self._node(path, fh)
                node.durable_entries = dict(node.entries)
                node.durable_mode = node.mode
                return 0

        def create(self, path, mode):
            with self.mutex:
                self._check(changes=True)
                parent, name = self._parent(path)
                if name in parent.entries:
                    raise FuseOSError(errno.EEXIST)
                node = parent.entries[name] = Node(False, mode)
                return self._handle(node)

        def mkdir(self, path, mode):
            with self.mutex:
                self._check(changes=True)
                parent, name = self._parent(path)
                if name in parent.entries:
                    raise FuseOSError(errno.EEXIST)
                parent.entries[name] = Node(True, mode)
                return 0

        def unlink(self, path):
            with self.mutex:
                self._check(changes=True)
                parent, name = self._parent(path)
                node = parent.entries.get(name)
                if node is None:
                    raise FuseOSError(errno.ENOENT)
                if node.is_dir:
                    raise FuseOSError(errno.EISDIR)
                del parent.entries[name]
                return 0

        def rmdir(self, path):
            with self.mutex:
                self._check(changes=True)
                parent, name = self._parent(path)
                node = parent.entries.get(name)
                if node is None:
                    raise FuseOSError(errno.ENOENT)
                if not node.is_dir:
                    raise FuseOSError(errno.ENOTDIR)
                if node.entries:
                    raise FuseOSError(errno.ENOTEMPTY)
                del parent.entries[name]
                return 0

        def rename(self, old, new):
            with self.mutex:
                self._check(changes=True)
                old_parent, old_name = self._parent(old)
                new_parent, new_name = self._parent(new)
                node = old_parent.entries.get(old_name)
                if node is None:
                    raise FuseOSError(errno.ENOENT)
                target = new_parent.entries.get(new_name)
                if target is node:
                    return 0
                if target is not None:
                    if target.is_dir and not node.is_dir:
                        raise FuseOSError(errno.EISDIR)
                    if node.is_dir and not target.is_dir:
                        raise FuseOSError(errno.ENOTDIR)
                    if target.is_dir and target.entries:
                        raise FuseOSError(errno.ENOTEMPTY)
                del old_parent.entries[old_name]
                new_parent.entries[new_name] = node
                return 0

    return PowerCutFS


def main(argv: list[str]) -> int:
    import mfusepy

    backing, mountpoint = Path(argv[1]).resolve(), str(Path(argv[2]).resolve())
    fs = _fs_class()(backing, mountpoint)
    # Single-threaded; hard_remove: an unlinked open file really goes (no
    # .fuse_hidden renames); use_ino: st_ino is the node's own number.
    mfusepy.FUSE(fs, mountpoint, foreground=True, nothreads=True, hard_remove=True,
                 use_ino=True, fsname="powercut")
    return 0


# --------------------------------------------------------------- the test side


def is_mounted(path: Path) -> bool:
    """From /proc/self/mounts: stat() on a cut or dead mount fails, so os.path.ismount lies."""
    target = os.path.realpath(path).replace(" ", "\\040")
    with open("/proc/self/mounts") as mounts:
        return any(line.split()[1] == target for line in mounts)


class LineReader:
    """Whole lines from a pipe, with a deadline (the pipe is read raw)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def readline(self, timeout: float) -> str | None:
        """The next whole line without its newline; None at EOF or after timeout."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if self.eof or left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


class Mount:
    """One mount of BACKING at MOUNTPOINT by a powercut_fs process.

    with Mount(backing, mnt) as m:   # mounted
        ...                          # use mnt
        m.cut()                      # power cut (or request_cut() + wait_cut())
    # unmounted; no process left
    """

    def __init__(self, backing: Path, mountpoint: Path) -> None:
        self.backing = Path(backing)
        self.mountpoint = Path(mountpoint)
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: LineReader | None = None

    def __enter__(self) -> Self:
        self.backing.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(self.backing), str(self.mountpoint)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.reader = LineReader(self.proc.stdout.fileno())
        try:
            if self.reader.readline(20) != "mounted" or not is_mounted(self.mountpoint):
                raise RuntimeError(f"powercut_fs did not mount {self.mountpoint}")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request_cut(self) -> None:
        """Cut the power without waiting (so the caller can kill its writer at the same moment)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"cut\n")
        self.proc.stdin.flush()

    def wait_cut(self, timeout: float = 60) -> bool:
        """True once the cut has happened; False after timeout."""
        assert self.reader is not None
        line = self.reader.readline(timeout)
        if line is None:
            return False
        if line != "cut":
            raise RuntimeError(f"powercut_fs said {line!r}, not 'cut'")
        return True

    def cut(self) -> None:
        self.request_cut()
        self.wait_cut()

    def cut_at(self, n: int) -> None:
        """Arm a cut just before the n-th state-changing operation from now;
        it says "cut" when it happens (wait_cut)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(f"cut-at {n}\n".encode())
        self.proc.stdin.flush()

    def close(self) -> None:
        """Unmount (-u, then -uz if still busy) and reap the process."""
        proc = self.proc
        if proc is None:
            return
        for args in (["-u"], ["-u"], ["-u"], ["-uz"]):
            if not is_mounted(self.mountpoint):
                break
            if subprocess.run(["fusermount3", *args, str(self.mountpoint)],
                              check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
                time.sleep(0.1)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
            if is_mounted(self.mountpoint):
                subprocess.run(["fusermount3", "-uz", str(self.mountpoint)],
                               check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        self.proc = None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
