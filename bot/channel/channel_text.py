"""What the channel added around the user's text: this bot's mention, HTML copies, client locale."""

from __future__ import annotations

import html
import re
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity

_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|p|div|li|tr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<(?!/?at\b)[^<>]{1,500}>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^<>]{1,500}>")
_HTML_MENTION = re.compile(
    r'<span\b(?=[^>]*\bitemtype\s*=\s*"http://schema\.skype\.com/Mention")([^>]*)>(.{0,500}?)</span\s*>'
    r"|<at\b([^>]*)>(.{0,500}?)</at\s*>",
    re.IGNORECASE | re.DOTALL,
)
"""A mention in Teams' HTML copy: ``<span itemtype=".../Mention" itemid="0">Name</span>`` or ``<at id="0">``."""
_MENTION_INDEX = re.compile(r'\b(?:itemid|id)\s*=\s*"(\d+)"', re.IGNORECASE)
MAX_TEXT_CHARS = 1_000_000
"""The longest message the bot keeps (relayed to agents, kept in transcripts); the engine reads only the
first ``knowledge.normalize.MAX_PASTE_CHARS`` of it (the length rule is documented there)."""
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
"""What JSON's ``\\ud800`` escapes can put in a Python string; no UTF-8 encoder (SQLite, logs) accepts it."""


def _props(entity: Any) -> dict[str, Any]:
    """An entity's fields as a dict, whether botbuilder kept it typed or as extra properties."""
    if isinstance(entity, dict):
        return entity
    if not hasattr(entity, "__dict__"):  # null, a number or a string where an entity object belongs
        return {}
    data: dict[str, Any] = dict(getattr(entity, "additional_properties", None) or {})
    data.update({k: v for k, v in vars(entity).items() if v is not None and k != "additional_properties"})
    return data


def _mentions(activity: Activity) -> list[tuple[str, bool]]:
    """Every mention entity in order: its text and whether it mentions this bot (the recipient)."""
    bot_id = activity.recipient.id if activity.recipient else None
    found = []
    for entity in activity.entities or []:
        props = _props(entity)
        if props.get("type") != "mention":
            continue
        mentioned = props.get("mentioned") or {}
        mentioned_id = mentioned.get("id") if isinstance(mentioned, dict) else getattr(mentioned, "id", None)
        found.append((str(props.get("text") or ""), bool(bot_id) and mentioned_id == bot_id))
    return found


def bot_mentions(activity: Activity) -> list[str]:
    """The exact mention texts (``<at>Name</at>``) that mention this bot (the activity's recipient)."""
    return [text for text, is_bot in _mentions(activity) if is_bot and text]


def addressed_to_bot(activity: Activity) -> bool:
    """Whether the bot is meant to answer ``activity``: always outside Teams channels; in a channel only a
    message that mentions the bot or carries a card's data. With the ``ChannelMessage.Read.Group``
    permission Teams also delivers every other channel message; those the bot only reads."""
    conversation = activity.conversation
    if conversation is None or conversation.conversation_type != "channel":
        return True
    return activity.value is not None or any(is_bot for _, is_bot in _mentions(activity))


def _mention_name(text: str) -> str:
    return " ".join(html.unescape(_ANY_TAG.sub("", text)).split())


def _remove_html_mentions(content: str, activity: Activity) -> str:
    """Teams' HTML copy without this bot's mentions; other people's mentions become their names.

    A mention's ``itemid`` is its position among the activity's mention entities; without one, the
    mention is the bot's when its name is the bot mention's name.
    """
    mentions = _mentions(activity)
    bot_names = {_mention_name(text) for text, is_bot in mentions if is_bot}
    if not bot_names:
        return content

    def replace(match: re.Match[str]) -> str:
        attributes = match.group(1) if match.group(1) is not None else match.group(3)
        name = _mention_name(match.group(2) if match.group(2) is not None else match.group(4))
        index = _MENTION_INDEX.search(attributes or "")
        if index and int(index.group(1)) < len(mentions):
            is_bot = mentions[int(index.group(1))][1]
        else:
            is_bot = name in bot_names
        return " " if is_bot else name

    return _HTML_MENTION.sub(replace, content)


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
        if (getattr(attachment, "content_type", None) == "text/html" and isinstance(attachment.content, str)
                and attachment.content):
            text = html_to_text(_remove_html_mentions(attachment.content[: 2 * MAX_TEXT_CHARS], activity))
            break
    text = _LONE_SURROGATE.sub("\ufffd", text[:MAX_TEXT_CHARS])
    for mention in bot_mentions(activity):
        text = text.replace(mention, " ", 1)
        plain = html.unescape(mention)
        if plain != mention:
            text = text.replace(plain, " ", 1)
    return text.strip()


_TURN_TEXT = "InsightDesk.text"


def turn_text(turn_context: TurnContext) -> str:
    """``message_text`` of the turn's activity, worked out once per turn (escalation and the answer both read it)."""
    text = turn_context.turn_state.get(_TURN_TEXT)
    if not isinstance(text, str):
        text = turn_context.turn_state[_TURN_TEXT] = message_text(turn_context.activity)
    return text


def client_locale(activity: Activity) -> str | None:
    """The chat client's locale: ``activity.locale``, else the ``clientInfo`` entity's."""
    if activity.locale:
        return str(activity.locale)
    for entity in activity.entities or []:
        props = _props(entity)
        if props.get("type") == "clientInfo" and props.get("locale"):
            return str(props["locale"])
    return None
