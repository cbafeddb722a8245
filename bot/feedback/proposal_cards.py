"""The proposal card agents see in their channel: a wording users found an article with, Add or Dismiss.

A pure function of data, like the other cards: the wording as users pasted it (escaped: it reads as the
characters typed, never as markup), the article's title in the agents' language, how many users and when;
once decided, who decided and no buttons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.cards import ACTION_KEY, adaptive_card, cut, submit_button, text_block
from bot.channel.markdown_escape import escape_markdown
from bot.strings import Strings

ADD = "learn_add"
DISMISS = "learn_dismiss"
MAX_WORDING_ON_CARD = 500


def proposal_card(*, proposal: str, wording: str, title: str, users: int, last_seen: datetime, strings: Strings,
                  decision: str | None = None) -> dict[str, Any]:
    """The card of proposal ``proposal`` (its id, carried by the buttons); ``decision`` (already in the agents'
    language, e.g. "Added by Anna") replaces the buttons once an agent decided."""
    t = strings.text
    shown_wording = escape_markdown(cut(" ".join(wording.split()), MAX_WORDING_ON_CARD)[0])
    facts = [(t("learn_wording"), shown_wording), (t("learn_article"), escape_markdown(title)),
             (t("learn_users"), t("learn_backing", count=str(users), date=f"{last_seen:%Y-%m-%d %H:%M} UTC"))]
    body: list[dict[str, Any]] = [
        text_block(t("learn_title"), weight="Bolder", size="Medium", style="heading"),
        {"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in facts]},
    ]
    actions: list[dict[str, Any]] = []
    if decision is None:
        actions = [submit_button(t("learn_add"), {ACTION_KEY: ADD, "proposal": proposal}),
                   submit_button(t("learn_dismiss"), {ACTION_KEY: DISMISS, "proposal": proposal})]
    else:
        body.append(text_block(decision, weight="Bolder", spacing="Medium"))
    fallback = "\n\n".join([f"**{t('learn_title')}**", *(f"{label}: {value}" for label, value in facts),
                            *([decision] if decision else [])])
    return adaptive_card(body, actions, fallback, locale=strings.locale)
