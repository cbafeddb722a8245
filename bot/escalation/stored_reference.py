"""The conversation reference the bot stores (a ticket's user conversation, a queue's channel): known fields only.

    reference = stored_reference(TurnContext.get_conversation_reference(activity))   # what to store
    reference = reference_from_document(stored)                                        # what a reader keeps

A channel fills ``properties`` (and an account's other fields) with whatever it likes; stored as it came, a
key such as ``py/b64`` made the whole document unreadable as jsonpickle state. So both the writer and the
readers keep exactly the fields needed to send to the conversation later, in the JSON form
``ConversationReference.serialize()`` gives and ``ConversationReference().deserialize()`` reads back:
``activityId``, ``user`` {id, name, aadObjectId, role}, ``bot`` {id, name}, ``conversation`` {id,
conversationType, tenantID, isGroup, name}, ``channelId``, ``serviceUrl``, ``locale``. Each is text of bounded
length (names are cut to length, ids, urls and codes of the wrong shape are left out) or, for ``isGroup``, a
boolean; everything else is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from botbuilder.schema import ConversationReference

__all__ = ["MAX_ID_CHARS", "MAX_NAME_CHARS", "MAX_URL_CHARS", "reference_from_document", "stored_reference"]

MAX_ID_CHARS = 1024
"""Ids (conversation, user, bot, activity, tenant, AAD object): Bot Framework's are far shorter."""
MAX_URL_CHARS = 2048
MAX_NAME_CHARS = 256
"""Display names are cut to this length (a cut name still names someone; a cut id would not)."""
MAX_CODE_CHARS = 64
"""Channel ids, roles, conversation types, locales."""

_NOT_IN_IDS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
Check = Callable[[object], object | None]


def _plain_text(value: object) -> str | None:
    """``value`` as exact ``str`` (a ``str`` enum's value), or ``None`` when it is not text."""
    return str.__str__(value) if isinstance(value, str) else None


def _id(limit: int) -> Check:
    def check(value: object) -> str | None:
        text = _plain_text(value)
        return text if text and len(text) <= limit and not _NOT_IN_IDS.search(text) else None
    return check


def _name(value: object) -> str | None:
    text = _plain_text(value)
    return _SURROGATES.sub("\ufffd", text[:MAX_NAME_CHARS]) if text else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


_ID, _URL, _CODE = _id(MAX_ID_CHARS), _id(MAX_URL_CHARS), _id(MAX_CODE_CHARS)
_USER: dict[str, Check] = {"id": _ID, "name": _name, "aadObjectId": _ID, "role": _CODE}
_BOT: dict[str, Check] = {"id": _ID, "name": _name}
_CONVERSATION: dict[str, Check] = {"id": _ID, "conversationType": _CODE, "tenantID": _ID, "isGroup": _flag,
                                   "name": _name}
_ACCOUNTS = {"user": _USER, "bot": _BOT, "conversation": _CONVERSATION}
_TOP: dict[str, Check] = {"activityId": _ID, "channelId": _CODE, "serviceUrl": _URL, "locale": _CODE}


def _kept(document: Mapping[Any, Any], fields: Mapping[str, Check]) -> dict[str, Any]:
    kept = {key: check(document.get(key)) for key, check in fields.items()}
    return {key: value for key, value in kept.items() if value is not None}


def reference_from_document(document: object) -> dict[str, Any]:
    """The known, well-shaped fields of a stored reference (``{}`` when ``document`` is not a JSON object)."""
    if not isinstance(document, Mapping):
        return {}
    reference = _kept(document, _TOP)
    for key, fields in _ACCOUNTS.items():
        account = document.get(key)
        if isinstance(account, Mapping):
            kept = _kept(account, fields)
            if kept:
                reference[key] = kept
    return reference


def _account(account: object, fields: Mapping[str, Check]) -> dict[str, Any] | None:
    """An account object's fields under their JSON names (read by attribute: ``properties`` is never touched)."""
    if account is None:
        return None
    attributes = {"aadObjectId": "aad_object_id", "conversationType": "conversation_type", "tenantID": "tenant_id",
                  "isGroup": "is_group"}
    return {key: getattr(account, attributes.get(key, key), None) for key in fields}


def stored_reference(reference: ConversationReference) -> dict[str, Any]:
    """``reference`` as the bot stores it: the known fields, validated (see the module)."""
    return reference_from_document({
        "activityId": reference.activity_id, "channelId": reference.channel_id,
        "serviceUrl": reference.service_url, "locale": reference.locale,
        **{key: _account(getattr(reference, key, None), fields) for key, fields in _ACCOUNTS.items()},
    })
