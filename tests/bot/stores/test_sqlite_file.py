"""What ``bot.stores.sqlite_file`` sees of a database's files: their identity and the attributes that make them
read-only even for root (``chattr +i`` / ``+a``), read with ``statx`` without opening them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.stores.sqlite_file import file_identity, locked_attributes, locked_file


@pytest.fixture
def chattr(tmp_path: Path) -> Iterator[list[Path]]:
    """Files to set attributes on (added to the list); their attributes are cleared at the end."""
    touched: list[Path] = []
    probe = tmp_path / "probe"
    probe.write_text("x")
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
        pytest.skip("this filesystem or user cannot make files immutable")
    touched.append(probe)
    yield touched
    subprocess.run(["chattr", "-i", "-a", *map(str, touched)], check=True)


def set_attribute(flag: str, path: Path, touched: list[Path]) -> None:
    touched.append(path)
    subprocess.run(["chattr", flag, str(path)], check=True)


def test_immutable_and_append_only_files_are_seen_and_plain_ones_are_not(tmp_path: Path,
                                                                           chattr: list[Path]) -> None:
    plain, frozen, appending = tmp_path / "plain", tmp_path / "frozen", tmp_path / "appending"
    for path in (plain, frozen, appending):
        path.write_text("x")
    set_attribute("+i", frozen, chattr)
    set_attribute("+a", appending, chattr)
    assert locked_attributes(plain) is None
    assert locked_attributes(frozen) == "immutable"
    assert locked_attributes(appending) == "append-only"
    assert locked_attributes(tmp_path / "absent") is None


def test_any_locked_file_of_a_database_makes_it_unusable(tmp_path: Path, chattr: list[Path]) -> None:
    database = tmp_path / "state.db"
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"state.db{suffix}").write_bytes(b"")
    assert locked_file(database) is None
    set_attribute("+i", tmp_path / "state.db-shm", chattr)
    assert "state.db-shm is immutable" in (locked_file(database) or "")


def test_a_file_replaced_at_a_path_has_another_identity(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_text("first")
    first = file_identity(path)
    kept_open = path.open()  # the first file stays alive, as under an open connection
    try:
        path.unlink()
        assert file_identity(path) is None
        path.write_text("second")
        assert file_identity(path) not in (None, first)
    finally:
        kept_open.close()
