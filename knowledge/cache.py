"""A disk cache for anything built from knowledge-base folders, invalidated when any article changes.

The key is a fingerprint of every article file and alternate-texts file (relative path, size,
modification time) and of the engine's own source, so an edited, added or removed article, or a
new engine version, rebuilds; an unreadable or stale cache file is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from knowledge.corpus import file_stamps

T = TypeVar("T")
log = logging.getLogger(__name__)

ENGINE_SOURCE = Path(__file__).resolve().parent


def fingerprint(folders: Sequence[str | Path]) -> str:
    """A digest of every file a load of ``folders`` reads (``knowledge.corpus.file_stamps``) and of the engine's
    Python source."""
    digest = hashlib.blake2b(digest_size=20)
    for source in sorted(ENGINE_SOURCE.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    for folder in folders:
        root = Path(folder).resolve()
        digest.update(b"\0folder\0" + str(root).encode())
        for rel, size, mtime in file_stamps(root):
            digest.update(f"{rel}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


def _cache_file(folders: Sequence[str | Path], cache_dir: str | Path) -> Path:
    """The one cache file of a list of folders."""
    roots = "\0".join(str(Path(f).resolve()) for f in folders)
    return Path(cache_dir) / f"kb-{hashlib.blake2b(roots.encode(), digest_size=8).hexdigest()}.pickle"


def is_fresh(folders: Sequence[str | Path], cache_dir: str | Path) -> bool:
    """Whether ``load_or_build`` would read the folders' value from ``cache_dir`` instead of building it."""
    try:
        with _cache_file(folders, cache_dir).open("rb") as f:
            return bool(pickle.load(f) == fingerprint(folders))
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return False


def load_or_build(folders: Sequence[str | Path], build: Callable[[], T], cache_dir: str | Path) -> T:
    """``build()``'s result, from ``cache_dir`` when the folders are unchanged since it was saved.

    One cache file per list of folders; it holds the fingerprint first, then the value, so a
    stale file is recognised without unpickling the value.
    """
    cache = _cache_file(folders, cache_dir)
    current = fingerprint(folders)
    if cache.exists():
        try:
            with cache.open("rb") as f:
                if pickle.load(f) == current:
                    value: T = pickle.load(f)
                    return value
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
            log.warning("ignoring unreadable knowledge cache %s: %s", cache, e)
    value = build()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=cache.parent, delete=False, suffix=".tmp") as out:
            pickle.dump(current, out, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(out.name, cache)
    except OSError as e:
        log.warning("could not write knowledge cache %s: %s", cache, e)
    return value
