"""Plain JSON state skips jsonpickle: what is stored, read back and compared must be what jsonpickle gives."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botbuilder.core import StoreItem
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpickle.pickler import Pickler
from jsonpickle.unpickler import Unpickler

from bot.stores.base import decode_item, encode_item
from bot.stores.json_state import pickle_tags_in, plain_json, state_fingerprint


class Colour(StrEnum):
    RED = "red"


@dataclass
class Profile:
    name: str
    languages: list[str]


def jsonpickle_encoded(item: object) -> str:
    """What ``encode_item`` wrote before it knew plain JSON: jsonpickle's form, without the e-tag."""
    flat = Pickler(unpicklable=True).flatten(item)
    if isinstance(flat, dict):
        flat.pop("e_tag", None)
    return json.dumps(flat, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT
PLAIN = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                     max_leaves=30)
ANYTHING = st.recursive(
    SCALARS | st.sampled_from([Colour.RED, float("nan"), Profile("Ana", ["sv-SE"])]),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(TEXT | st.integers() | st.just("py/object"), inner, max_size=3),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(TEXT, PLAIN, max_size=5))
def test_plain_state_is_stored_exactly_as_jsonpickle_stores_it(item: dict[str, Any]) -> None:
    assert encode_item("k", item) == jsonpickle_encoded(item)


@settings(max_examples=300, deadline=None)
@given(ANYTHING)
def test_every_value_is_stored_and_read_back_as_jsonpickle_does(value: Any) -> None:
    item = {"value": value, "e_tag": "old"}
    try:
        expected = jsonpickle_encoded(item)
    except ValueError:  # NaN: not JSON, refused either way
        assert not plain_json(item)
        return
    document = encode_item("k", item)
    assert document == expected
    restored = Unpickler(safe=True).restore(json.loads(document))
    restored["e_tag"] = "new"
    assert decode_item("where", "k", document, "new") == restored


def test_what_is_not_plain_json() -> None:
    shared: list[int] = [1]
    for value in ({"a": (1, 2)}, {1: "number key"}, {"py/object": "x"}, {"a": Colour.RED}, {"a": float("inf")},
                  {"a": shared, "b": shared}, {"a": Profile("Ana", [])}, {"a": {1, 2}}, StoreItem(count=1)):
        assert not plain_json(value), value
    assert plain_json({"a": [1, 2.5, True, None, "x", {"b": []}], "c": {}})


def test_tags_are_found_at_any_depth() -> None:
    assert not pickle_tags_in({"a": [{"b": "py/object"}], "c": "py/tuple"})  # values, not keys
    assert pickle_tags_in({"a": [{"b": {"py/tuple": [1]}}]})
    assert pickle_tags_in([[{"py/id": 1}]])


def test_objects_and_shared_lists_come_back_as_jsonpickle_gives_them() -> None:
    shared = ["sv-SE"]
    item = {"profile": Profile("Ana", shared), "again": shared, "pair": (1, 2)}
    back = decode_item("where", "k", encode_item("k", item), "t")
    assert isinstance(back, dict)
    assert back["profile"] == Profile("Ana", ["sv-SE"]) and back["pair"] == (1, 2)
    assert back["again"] is back["profile"].languages, "jsonpickle keeps one list reachable twice as one"


@settings(max_examples=200, deadline=None)
@given(PLAIN, PLAIN)
def test_the_fingerprint_changes_whenever_plain_state_does(a: Any, b: Any) -> None:
    same = json.dumps(a) == json.dumps(b)
    assert (state_fingerprint(a) == state_fingerprint(b)) == same
    assert (state_fingerprint({"v": a, "e_tag": "1"}) == state_fingerprint({"v": b, "e_tag": "2"})) == same


def test_the_fingerprint_sees_changes_inside_objects_and_tuples() -> None:
    assert state_fingerprint({"p": Profile("Ana", ["sv"])}) != state_fingerprint({"p": Profile("Ana", ["ko"])})
    assert state_fingerprint({"t": ("a",)}) != state_fingerprint({"t": ("b",)})
    assert state_fingerprint({"p": Profile("Ana", [])}) == state_fingerprint({"p": Profile("Ana", [])})
    assert state_fingerprint(None) != state_fingerprint({})
    assert state_fingerprint({(1, 2): "a"}) != state_fingerprint({(1, 2): "b"}), "keys json cannot write"
    looped: list[Any] = ["x"]
    looped.append(looped)
    assert state_fingerprint({"l": looped}) != state_fingerprint({"l": ["x"]})


def test_the_stores_e_tag_is_not_content() -> None:
    assert state_fingerprint({"a": 1, "e_tag": "1"}) == state_fingerprint({"a": 1, "e_tag": "2"})
    assert state_fingerprint({"a": 1, "e_tag": "1"}) != state_fingerprint({"a": 2, "e_tag": "1"})
    assert state_fingerprint({"a": {"e_tag": 1}}) != state_fingerprint({"a": {"e_tag": 2}}), "only the top level"
