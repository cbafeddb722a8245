"""What happened to the files under an open SQLite database: deleted, replaced, or made immutable.

    identity = file_identity(path)   # after opening: (device, inode); None when there is no file
    ...
    locked_file(path)                 # before each use: why no file of it may be touched, or None
    file_identity(path) != identity   # before each use: the file was deleted or replaced

Why this is checked before every use rather than left to SQLite's errors:

- A deleted file stays open: SQLite goes on writing to the unlinked inode, every write "succeeds" and all
  of it is gone at the next start. Comparing the inode at the path with the one opened tells.
- In WAL mode SQLite maps the ``-shm`` file (its wal-index) into memory with ``mmap``, whatever
  ``mmap_size`` says (that one is about the database file and is 0 here). When the ``-shm`` file turns
  immutable (``chattr +i``), the kernel (ext4's ``page_mkwrite``) answers the next write to a mapped page
  with SIGBUS: the process dies without a word, on a read as on a write, and even on closing the
  connection (the checkpoint on close writes the wal-index). So an immutable (or append-only) database,
  ``-wal`` or ``-shm`` file is recognised from its attributes (``statx``, by path: opening and closing a
  descriptor of a locked database file would drop SQLite's POSIX locks) before SQLite touches it, and the
  connection mapping it is ``abandon``-ed, never used or closed again.

A flag set between the check and SQLite's next access can still crash the process: the check narrows the
window to microseconds, it cannot close it (SIGBUS cannot be caught and resumed in Python).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sqlite3
import sys
from pathlib import Path

__all__ = ["SIDE_FILES", "FileIdentity", "abandon", "file_identity", "locked_attributes", "locked_file"]

FileIdentity = tuple[int, int]
"""A file's (device, inode): another file at the same path has another identity."""

SIDE_FILES = ("-wal", "-shm")
"""The files SQLite keeps beside a database in WAL mode."""

_AT_FDCWD = -100
_STATX_BASIC_STATS = 0x7FF
_STATX_ATTR_IMMUTABLE = 0x10
_STATX_ATTR_APPEND = 0x20
_STATX_BUFFER = 256
_STATX_ATTRIBUTES = slice(8, 16)
"""Where ``stx_attributes`` (a little- or big-endian u64, the machine's order) sits in ``struct statx``."""

_ABANDONED: list[sqlite3.Connection] = []


def _load_statx() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]  # ctypes' private base
    """libc's ``statx`` (Linux, glibc 2.28+), else ``None``: the attribute check is then skipped."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).statx
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_char_p]
    function.restype = ctypes.c_int
    return function


_statx = _load_statx()


def locked_attributes(path: Path) -> str | None:
    """``"immutable"`` or ``"append-only"`` when ``path`` carries that attribute, else ``None`` (also when the
    file is absent or the system cannot tell)."""
    return _locked(os.fsencode(path), ctypes.create_string_buffer(_STATX_BUFFER))


def _locked(name: bytes, buffer: ctypes.Array[ctypes.c_char]) -> str | None:
    if _statx is None or _statx(_AT_FDCWD, name, 0, _STATX_BASIC_STATS, buffer) != 0:
        return None
    attributes = int.from_bytes(buffer.raw[_STATX_ATTRIBUTES], sys.byteorder)
    if attributes & _STATX_ATTR_IMMUTABLE:
        return "immutable"
    if attributes & _STATX_ATTR_APPEND:
        return "append-only"
    return None


def file_identity(path: Path) -> FileIdentity | None:
    """The (device, inode) of the file at ``path``; ``None`` when there is none."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def locked_file(path: Path) -> str | None:
    """Why the database at ``path`` must not be touched: one of its files (the database, ``-wal``, ``-shm``)
    is immutable or append-only; else ``None``. Opening such a database would map its ``-shm`` too."""
    buffer = ctypes.create_string_buffer(_STATX_BUFFER)
    for name, encoded in _database_files(path):
        locked = _locked(encoded, buffer)
        if locked:
            return f"{name} is {locked}: the store is read-only and cannot keep state"
    return None


@functools.lru_cache(maxsize=64)
def _database_files(path: Path) -> tuple[tuple[str, bytes], ...]:
    """The database's files, as names and as the bytes ``statx`` takes (made once per database)."""
    names = [f"{path}{suffix}" for suffix in ("", *SIDE_FILES)]
    return tuple((name, os.fsencode(name)) for name in names)


def abandon(connection: sqlite3.Connection) -> None:
    """Never use or close ``connection`` again, not even when the interpreter exits: closing it would write
    to its mapped ``-shm`` file, which the kernel answers with SIGBUS once the file is immutable.

    The connection gets one reference that is never released (``Py_IncRef``), so no garbage collection
    at exit closes it; its file descriptors and mapping go with the process.
    """
    _ABANDONED.append(connection)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(connection))
