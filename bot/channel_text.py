"""What the channel added around the user's text: this bot's mention, HTML copies, client locale."""

from __future__ import annotations

import html
import re
from typing import Any

from botbuilder.schema import Activity

_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|p|div|li|tr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<(?!/?at\b)[^<>]{1,500}>", re.IGNORECASE)
MAX_TEXT_CHARS = 1_000_000


def _props(entity: Any) -> dict[str, Any]:
    """An entity's fields as a dict, whether botbuilder kept it typed or as extra properties."""
    if isinstance(entity, dict):
        return entity
    data: dict[str, Any] = dict(getattr(entity, "additional_properties", None) or {})
    data.update({k: v for k, v in vars(entity).items() if v is not None and k != "additional_properties"})
    return data


def bot_mentions(activity: Activity) -> list[str]:
    """The exact mention texts (``<at>Name</at>``) that mention this bot (the activity's recipient)."""
    bot_id = activity.recipient.id if activity.recipient else None
    texts = []
    for entity in activity.entities or []:
        props = _props(entity)
        if props.get("type") != "mention":
            continue
        mentioned = props.get("mentioned") or {}
        mentioned_id = mentioned.get("id") if isinstance(mentioned, dict) else getattr(mentioned, "id", None)
        if bot_id and mentioned_id == bot_id and props.get("text"):
            texts.append(str(props["text"]))
    return texts


def html_to_text(content: str) -> str:
    """Readable text of an HTML fragment: block tags become line breaks, other tags go, entities decoded."""
    text = _BLOCK_TAG.sub("\n", content)
    text = _TAG.sub("", text)
    return html.unescape(text)


def message_text(activity: Activity) -> str:
    """The user's text: the ``text/html`` copy Teams sends for rich pastes when present, else ``text``;
    this bot's own mention removed (only it: its name elsewhere in the text stays)."""
    text = activity.text or ""
    for attachment in activity.attachments or []:
        if attachment.content_type == "text/html" and isinstance(attachment.content, str) and attachment.content:
            text = html_to_text(attachment.content)
            break
    text = text[:MAX_TEXT_CHARS]
    for mention in bot_mentions(activity):
        text = text.replace(mention, " ", 1)
        plain = html.unescape(mention)
        if plain != mention:
            text = text.replace(plain, " ", 1)
    return text.strip()


def client_locale(activity: Activity) -> str | None:
    """The chat client's locale: ``activity.locale``, else the ``clientInfo`` entity's."""
    if activity.locale:
        return str(activity.locale)
    for entity in activity.entities or []:
        props = _props(entity)
        if props.get("type") == "clientInfo" and props.get("locale"):
            return str(props["locale"])
    return None
