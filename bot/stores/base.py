"""What every state store shares: its errors, the e-tag rules and the JSON form of an item.

E-tags: every stored item gets a fresh opaque ``e_tag`` (a dict key or an attribute, as botbuilder's
storages use). A write whose item carries an ``e_tag`` other than ``"*"`` succeeds only if the stored
item still has that e-tag (else ``EtagConflictError``, a ``KeyError`` like ``MemoryStorage`` raises); no
``e_tag`` or ``"*"`` writes unconditionally. After a write each written dict or object carries its new
e-tag, so a ``BotState`` can save twice in one turn. The writes of one call commit together or not at all.

Create-only: botbuilder's ``Storage`` has no "write only if absent", so our stores (SQLite, Redis, Blob and
``memory://``) honour a convention: an item whose ``e_tag`` is ``CREATE_ONLY_E_TAG`` is written only when
nothing is stored under its key, else ``EtagConflictError``. ``honours_create_only(storage)`` says whether
a store does (other stores would take the marker for a real e-tag and refuse every such write).

A store that keeps feedback beside its state says so with ``feedback_store()`` (``KeepsFeedback``).
"""

from __future__ import annotations

import json
from contextlib import suppress
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from botbuilder.core import Storage
from jsonpickle.pickler import Pickler
from jsonpickle.unpickler import Unpickler

from bot.feedback.events import FeedbackStore
from bot.stores.json_state import pickle_tags_in, plain_json
from bot.stores.unreadable_items import UnreadableItems

__all__ = [
    "CREATE_ONLY_E_TAG",
    "EtagConflictError",
    "KeepsFeedback",
    "StorageError",
    "UnreadableItemError",
    "decode_item",
    "e_tag_of",
    "encode_item",
    "etag_conflict",
    "honours_create_only",
    "set_e_tag",
    "write_items",
]

CREATE_ONLY_E_TAG = "create-only"
"""The e-tag of an item to be written only if its key holds nothing yet (never a real e-tag of our stores)."""


@runtime_checkable
class KeepsFeedback(Protocol):
    """A state store with a feedback store of its own beside its items (same file, server or container)."""

    def feedback_store(self) -> FeedbackStore:
        """The feedback store that lives beside this store's items."""
        ...


class StorageError(Exception):
    """The state store could not do what was asked; the message names the file and the operation."""

    def __init__(self, message: str, *, path: Path | None = None, operation: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.operation = operation


class EtagConflictError(StorageError, KeyError):
    """A write carried an e-tag the stored item no longer has: someone else wrote it (or deleted it) first."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnreadableItemError(StorageError):
    """A stored item is not JSON state this bot can restore (an older version's, or damaged)."""


def honours_create_only(storage: Storage) -> bool:
    """Whether ``storage`` writes an item carrying ``CREATE_ONLY_E_TAG`` only when its key is absent."""
    return bool(getattr(storage, "honours_create_only", False))


def write_items(changes: dict[str, Any] | None, unreadable: UnreadableItems | None = None,
                ) -> list[tuple[str, Any, str | None]]:
    """Each ``(key, item, condition)`` of a ``Storage.write``: ``condition`` is the e-tag the stored item must
    have, ``CREATE_ONLY_E_TAG`` (there must be none) or ``None`` (overwrite: no e-tag, or ``"*"``); with the
    store's ``unreadable`` items, create-only over one of them is conditional on its e-tag instead.
    ``ValueError`` for ``None`` changes or an empty e-tag, before anything is written."""
    if changes is None:
        raise ValueError("Changes are required when writing")
    items = []
    for key, item in changes.items():
        expected = e_tag_of(item)
        if expected == "":
            raise ValueError(f"cannot write {key!r}: its e_tag is empty (use None or '*' to overwrite)")
        condition = None if expected is None or expected == "*" else str(expected)
        items.append((key, item, unreadable.condition(key, condition) if unreadable else condition))
    return items


def etag_conflict(where: object, key: str, condition: str, stored: str | None, *,
                  path: Path | None = None) -> EtagConflictError:
    """The refusal of the write of ``key`` whose ``condition`` the stored item (its e-tag ``stored``, ``None``
    when there is none) does not meet."""
    if condition == CREATE_ONLY_E_TAG:
        why = "it was to be created, but it exists already"
    else:
        why = f"it was read with e-tag {condition} but " + (f"it now has {stored}" if stored else "it was deleted")
    return EtagConflictError(f"state store {where}: write of {key!r} refused: {why}", path=path, operation="write")


def e_tag_of(item: object) -> object:
    """The e-tag a written item carries (a dict's ``e_tag`` key or an object's attribute), else ``None``."""
    return item.get("e_tag") if isinstance(item, dict) else getattr(item, "e_tag", None)


def set_e_tag(item: object, e_tag: str) -> None:
    """Hand the stored e-tag back to the caller's item, so its next write is conditional on it."""
    if isinstance(item, dict):
        item["e_tag"] = e_tag
    else:
        with suppress(AttributeError):  # an object without a settable e_tag (slotted, a number) has none
            item.e_tag = e_tag  # type: ignore[attr-defined]


def encode_item(key: str, item: object) -> str:
    """The item as JSON, without its e-tag (kept beside it): jsonpickle's form, as botbuilder's Azure storages use.

    ``StorageError`` when it cannot be written, or when what would be written does not read back (a dict
    key that looks like one of jsonpickle's tags, e.g. ``py/b64``): better one refused write than an item
    no later read can restore.
    """
    try:
        if type(item) is dict and plain_json(item):  # jsonpickle's form of plain JSON is itself
            flat: Any = {k: v for k, v in item.items() if k != "e_tag"}
            return _as_utf8_text(json.dumps(flat, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
        flat = Pickler(unpicklable=True).flatten(item)
        if isinstance(flat, dict):
            flat.pop("e_tag", None)
        document = json.dumps(flat, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:
        raise StorageError(f"state for {key!r} cannot be stored as JSON: {e}", operation="write") from e
    try:
        _restored(document)
    except _UNREADABLE as e:
        raise StorageError(f"state for {key!r} cannot be stored: it would not read back as state ({e})",
                           operation="write") from e
    return _as_utf8_text(document)


def _as_utf8_text(document: str) -> str:
    """``document`` as text every store can keep: a lone surrogate (JSON's ``"\\udbb7"`` read from a client's
    activity) cannot be UTF-8, so such a document is written with every non-ASCII character escaped, which
    reads back to the same value."""
    try:
        document.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(json.loads(document), ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return document


_UNREADABLE = (ValueError, TypeError, AttributeError, ImportError, KeyError, IndexError, RecursionError)
"""What reading a document that is not state this bot wrote raises (json's, jsonpickle's and codecs' errors)."""


def _restored(document: str | bytes) -> object:
    item = json.loads(document)
    if pickle_tags_in(item):  # objects, tuples, references: jsonpickle restores them; plain JSON is itself
        item = Unpickler(safe=True).restore(item)
    return item


def decode_item(where: str | Path, key: str, document: str | bytes, e_tag: str) -> object:
    """An item ``encode_item`` wrote, with ``e_tag`` set on it; ``UnreadableItemError`` naming ``where`` if it
    is not one."""
    try:
        item = _restored(document)
    except _UNREADABLE as e:
        raise UnreadableItemError(f"state store {where}: read failed: the item {key!r} is not valid JSON state:"
                                  f" {type(e).__name__}: {e}", path=where if isinstance(where, Path) else None,
                                  operation="read") from e
    set_e_tag(item, e_tag)
    return item
