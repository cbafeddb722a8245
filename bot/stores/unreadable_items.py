"""Stored items that cannot be read back (written by an older version, damaged on disk): absent, logged once.

    unreadable = UnreadableItems("sqlite state.db")
    unreadable.note(key, e_tag, error)          # a read met one: logged the first time, the key reads absent
    unreadable.seen(key)                        # a read found the key readable, or nothing under it
    condition = unreadable.condition(key, condition)   # before a write

One unreadable item must not fail every later turn that reads its key (a poisoned queue list would
stop every ticket from reaching the agents). So the store reads it as absent and logs it once per item
(key and e-tag) in this process. "Absent" holds for writes too: an item written create-only
(``CREATE_ONLY_E_TAG``) over an unreadable one replaces it, on condition that it is still that same
unreadable item (its e-tag), so a concurrent writer that got there first still wins.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["UnreadableItems"]

log = logging.getLogger(__name__)


class UnreadableItems:
    """The items of one store that could not be read, by key (see the module); safe to use from any thread."""

    def __init__(self, where: str, create_only: str) -> None:
        self.where = where
        self._create_only = create_only
        self._damaged: dict[str, str] = {}
        """The e-tag of the unreadable item last read under each key."""
        self._logged: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def note(self, key: str, e_tag: str, error: Exception) -> None:
        """A read found the item ``key`` (its ``e_tag``) unreadable: remember it, log it the first time."""
        with self._lock:
            self._damaged[key] = e_tag
            first = (key, e_tag) not in self._logged
            self._logged.add((key, e_tag))
        if first:
            log.error("state store %s: the item %r (e-tag %s) cannot be read and is treated as absent; a new"
                      " item written under its key replaces it: %s", self.where, key, e_tag, error)

    def seen(self, key: str) -> None:
        """A read found ``key`` readable or absent: a create-only write of it is an ordinary one again."""
        if self._damaged:
            with self._lock:
                self._damaged.pop(key, None)

    def condition(self, key: str, condition: str | None) -> str | None:
        """The condition to write ``key`` with: a create-only write over the unreadable item last read under
        ``key`` becomes a write conditional on that item's e-tag; any other condition is kept."""
        if condition != self._create_only or not self._damaged:
            return condition
        with self._lock:
            return self._damaged.get(key, condition)
