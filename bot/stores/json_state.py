"""Plain JSON state: telling it apart from objects, so it can skip jsonpickle's per-node work.

Bot state is mostly plain JSON (dicts with text keys, lists, text, numbers, booleans, ``None``). For
such a value jsonpickle's form *is* the value itself, so it can be written and read by the ``json``
module directly, which is many times faster; anything else (objects, tuples, sets, number or tuple
keys, a container reachable twice, keys that look like jsonpickle's own ``py/`` tags) keeps going
through jsonpickle, so what is stored and what comes back is exactly what jsonpickle alone gives.

    plain_json(value)        # True: json.dumps(value) is jsonpickle's form of it
    pickle_tags_in(loaded)   # False: json.loads(document) is what jsonpickle would restore
    state_fingerprint(value) # a text that changes whenever the content does (botbuilder's change check)
"""

from __future__ import annotations

import json
import math
from typing import Any

from jsonpickle.pickler import Pickler

__all__ = ["pickle_tags_in", "plain_json", "state_fingerprint"]

_TAG_PREFIX = "py/"
_SCALARS = (str, int, bool, type(None))


def plain_json(value: object) -> bool:
    """Whether ``value`` is plain JSON that jsonpickle would flatten to itself.

    Exact types only (a ``str`` subclass such as an enum member is jsonpickle's business), finite
    floats, text keys that do not start with ``py/``, and no list or dict reachable twice (jsonpickle
    writes the second sighting as a reference).
    """
    seen: set[int] = set()
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is float:
            if not math.isfinite(item):  # type: ignore[arg-type]
                return False
            continue
        if kind is dict:
            if id(item) in seen:
                return False
            seen.add(id(item))
            for key, child in item.items():  # type: ignore[attr-defined]
                if type(key) is not str or key.startswith(_TAG_PREFIX):
                    return False
                pending.append(child)
            continue
        if kind is list:
            if id(item) in seen:
                return False
            seen.add(id(item))
            pending.extend(item)  # type: ignore[arg-type]
            continue
        return False
    return True


def pickle_tags_in(loaded: object) -> bool:
    """Whether JSON as ``json.loads`` returned it carries a jsonpickle tag (a ``py/...`` key) anywhere."""
    pending: list[object] = [loaded]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            for key, child in item.items():
                if key.startswith(_TAG_PREFIX):
                    return True
                if type(child) in (dict, list):
                    pending.append(child)
        elif type(item) is list:
            pending.extend(child for child in item if type(child) in (dict, list))
    return False


def _flattened(value: object) -> Any:
    """An object json cannot write, as jsonpickle flattens it (so its content shows in the fingerprint)."""
    return {"py/fingerprint": type(value).__qualname__, "flat": Pickler().flatten(value)}


def state_fingerprint(value: object) -> str:
    """A text that differs whenever ``value``'s content does: its JSON, objects in it as jsonpickle flattens
    them; botbuilder's own (the text of jsonpickle's flattened form) when json cannot write it at all.

    A top-level ``e_tag`` is left out: it is the store's, changed by every write, not the bot's content.
    """
    if type(value) is dict and "e_tag" in value:
        value = {k: v for k, v in value.items() if k != "e_tag"}
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_flattened)
    except (TypeError, ValueError, RecursionError):  # keys json cannot write, a container inside itself
        return "\x00" + str(Pickler().flatten(value))
