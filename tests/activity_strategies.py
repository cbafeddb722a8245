"""Hypothesis strategies for what arrives at ``/api/messages``: activity-shaped JSON, some of it hostile."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=200)
"""Any code points, lone surrogates and control characters included (JSON escapes them)."""
ID_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=80).filter(str.strip)
"""Ids as channels send them (odd, but printable); ``ANY_TEXT`` ids are the rarer hostile ones."""
PASTES = st.sampled_from([
    "Ett fel uppstod vid validering av åtkomsttoken", "驗證存取權杖時發生錯誤", "액세스 토큰 유효성 검사 오류",
    "There was an error validating access token", "/language sv", "language", "/lang 한국어", "hello", "",
])
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ANY_TEXT
JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
                    max_leaves=12)
ACTIONS = st.sampled_from(["choose", "language", "helped", "not_helped", "escalate", "unknown", ""])
CARD_VALUE = st.fixed_dictionaries(
    {"insightDesk": ACTIONS | JSON},
    optional={"article": st.sampled_from(["error-validating-access-token-during-onboarding", "../x"]) | JSON,
              "query": PASTES | JSON, "language": st.sampled_from(["sv-SE", "ko", "xx-YY", ""]) | JSON,
              "serviceUrl": st.just("http://127.0.0.1:9/"), "ticket": JSON},
)


def account(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.sampled_from([f"29:{kind}-1", f"29:{kind}-2", "28:insight-desk-bot"]) | ID_TEXT
    return st.fixed_dictionaries({"id": ids}, optional={"name": ANY_TEXT, "aadObjectId": ANY_TEXT,
                                                        "role": st.sampled_from(["user", "bot", "skill"])})


def entities() -> st.SearchStrategy[Any]:
    mention = st.fixed_dictionaries({"type": st.just("mention"), "text": ANY_TEXT,
                                     "mentioned": account("mentioned") | JSON})
    client = st.fixed_dictionaries({"type": st.just("clientInfo"), "locale": ANY_TEXT | st.just("sv-SE")})
    return st.lists(mention | client | st.dictionaries(ANY_TEXT, JSON, max_size=3), max_size=3)


def activities(service_url: str) -> st.SearchStrategy[dict[str, Any]]:
    """Activity-shaped dicts: mostly what a channel sends with odd values, sometimes fields of the wrong shape
    or missing (which the endpoint must answer with 400)."""
    conversation = st.fixed_dictionaries(
        {"id": st.sampled_from(["a:fuzz-1", "a:fuzz-2", "19:x@thread.tacv2;messageid=1"]) | ID_TEXT},
        optional={"tenantId": ANY_TEXT, "conversationType": ANY_TEXT, "isGroup": st.booleans()})
    channels = st.sampled_from(["msteams", "msteams", "webchat", "emulator", "sms"]) | ID_TEXT
    well_formed = st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "message", "message", "conversationUpdate", "invoke", "typing",
                                  "event", "installationUpdate"]) | ANY_TEXT.filter(bool),
         "serviceUrl": st.just(service_url), "channelId": channels, "conversation": conversation,
         "from": account("user"), "recipient": account("bot"),
         "channelData": st.fixed_dictionaries(
             {"tenant": st.fixed_dictionaries({"id": st.sampled_from(["t-1", "t-2"]) | ANY_TEXT})},
             optional={"eventType": st.sampled_from(["channelCreated", "teamRenamed"]) | ANY_TEXT,
                       "team": st.fixed_dictionaries({"id": ANY_TEXT}), "channel": st.fixed_dictionaries(
                           {"id": ANY_TEXT})}) | JSON},
        optional={
            "id": ID_TEXT, "text": PASTES | ANY_TEXT,
            "locale": st.sampled_from(["sv-SE", "ko-KR", "zh-TW", "en-US"]) | ANY_TEXT,
            "entities": entities(), "value": CARD_VALUE | JSON,
            "name": st.sampled_from(["adaptiveCard/action", "signin/verifyState"]) | ANY_TEXT,
            "attachments": st.lists(st.fixed_dictionaries({"contentType": st.just("text/html"),
                                                           "content": ANY_TEXT | PASTES}), max_size=2),
            "membersAdded": st.lists(account("member"), max_size=3),
            "textFormat": ANY_TEXT, "timestamp": st.just("2026-11-22T10:00:00.000Z"),
            "replyToId": ANY_TEXT,
        })
    broken = st.builds(lambda activity, key, junk: {**activity, key: junk}, well_formed,
                       st.sampled_from(["channelId", "from", "conversation", "recipient", "serviceUrl", "type",
                                        "entities", "attachments", "membersAdded", "timestamp", "text", "id"]),
                       JSON)
    return st.one_of(well_formed, well_formed, well_formed, broken)
