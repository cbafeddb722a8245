"""Escalation's Adaptive Cards: pure functions of data, each with its markdown as ``fallbackText``.

Users see them in their language; agents see the ticket card in their channel's language, with
the user's language named. What people wrote (names, questions, descriptions, transcript lines)
is escaped (``bot.channel.markdown_escape``): on a card it reads as the words typed, never as markup.
Buttons are ``Action.Submit`` whose data carries ``bot.cards.ACTION_KEY`` and the ticket number,
as the other Insight Desk cards do.
"""

from __future__ import annotations

from typing import Any

from bot.cards import ACTION_KEY, MAX_CARD_BYTES, adaptive_card, cut, submit_button, text_block, wire_size
from bot.channel.markdown_escape import escape_markdown
from bot.escalation.tickets import Line, Role, Ticket, TicketState
from bot.strings import N_, Strings
from knowledge.locales import language_name, native_language_name

DESCRIPTION_INPUT = "description"
"""The confirm card's text input; the client merges what the user typed into the submitted data."""
MAX_DESCRIPTION_CHARS = 2000
RECENT_LINES = 6
"""Transcript lines shown on the ticket card (all of them stay in the ticket)."""
MAX_LINE_ON_CARD = 300
MAX_QUESTION_ON_CARD = 500
MAX_QUERY_IN_DATA = 200

def action_data(action: str, **fields: str) -> dict[str, Any]:
    return {ACTION_KEY: action, **fields}


# -- the user's side ------------------------------------------------------------------------------


def confirm_card(*, query: str, article: str | None, strings: Strings) -> dict[str, Any]:
    """Before a ticket is made: what happens, a box for a description, send or cancel."""
    data = action_data("escalate_confirm", query=query[:MAX_QUERY_IN_DATA], locale=strings.locale)
    if article:
        data["article"] = article
    body = [
        text_block(strings.text("confirm_escalation")),
        {"type": "Input.Text", "id": DESCRIPTION_INPUT, "isMultiline": True, "maxLength": MAX_DESCRIPTION_CHARS,
         "label": strings.text("describe_problem")},
    ]
    actions = [submit_button(strings.text("send_to_support"), data),
               submit_button(strings.text("cancel"), action_data("escalate_cancel", locale=strings.locale))]
    return adaptive_card(body, actions, strings.text("confirm_escalation"), locale=strings.locale)


def notice_card(text: str, *, buttons: list[tuple[str, str, int]], locale: str) -> dict[str, Any]:
    """A message to the user, in ``locale``, with buttons ``(title, action, ticket number)`` about their ticket."""
    actions = [submit_button(title, action_data(action, ticket=str(number))) for title, action, number in buttons]
    return adaptive_card([text_block(text)], actions, text, locale=locale)


# -- the agents' side -----------------------------------------------------------------------------


def _line_markdown(line: Line, strings: Strings) -> str:
    text, _ = cut(" ".join(line.text.split()), MAX_LINE_ON_CARD)
    name = escape_markdown(line.name)
    who = strings.text("agent_label", name=name) if line.role is Role.AGENT else name
    return f"**{who}:** {escape_markdown(text) if line.role is not Role.BOT else text}"


_STATE_KEYS = {
    TicketState.WAITING: N_("agent_state_waiting"), TicketState.ASSIGNED: N_("agent_state_assigned"),
    TicketState.RESOLVED: N_("agent_state_resolved"), TicketState.CANCELLED: N_("agent_state_cancelled"),
    TicketState.REOPENED: N_("agent_state_reopened"),
}


def state_name(state: TicketState, strings: Strings) -> str:
    return strings.text(_STATE_KEYS[state])


def ticket_facts(ticket: Ticket, strings: Strings) -> list[tuple[str, str]]:
    """The ticket's facts as ``(label, value)`` pairs in ``strings``' language, values cut to fit a card."""
    t = strings.text
    question, _ = cut(" ".join((ticket.questions[-1] if ticket.questions else "").split()), MAX_QUESTION_ON_CARD)
    article_id = escape_markdown(ticket.article or "")  # from the card data the user's client sent
    article = t("agent_no_article") if not ticket.article else (
        article_id if ticket.score is None else t("agent_article_score", article=article_id,
                                                   score=f"{ticket.score:.0f}"))
    language = f"{native_language_name(ticket.locale)} · {language_name(ticket.locale, strings.locale)}"
    facts = [
        (t("agent_user"), escape_markdown(ticket.user.name or ticket.user.id)),
        (t("agent_language"), f"{language} ({escape_markdown(ticket.locale)})"),
        (t("agent_question"), escape_markdown(question)),
        (t("agent_article"), article),
    ]
    if ticket.description:
        facts.append((t("agent_description"), escape_markdown(cut(ticket.description, MAX_QUESTION_ON_CARD)[0])))
    if ticket.assignee:
        facts.append((t("agent_assignee"), escape_markdown(ticket.assignee.name or ticket.assignee.id)))
    facts.append((t("agent_opened"), ticket.created.strftime("%Y-%m-%d %H:%M UTC")))
    return facts


def ticket_card(ticket: Ticket, *, strings: Strings, recent: int = RECENT_LINES) -> dict[str, Any]:
    """The ticket in the agents' channel: summary, language, question, article, last messages, actions.

    Only the last ``recent`` transcript lines are shown, each cut to ``MAX_LINE_ON_CARD`` characters,
    fewer while the card is over ``MAX_CARD_BYTES``; the ticket keeps them all.
    """
    t = strings.text
    title = t("agent_ticket_title", number=str(ticket.number), state=state_name(ticket.state, strings))
    actions = []
    if ticket.state in (TicketState.WAITING, TicketState.REOPENED):
        actions.append(submit_button(t("agent_take"), action_data("take", ticket=str(ticket.number))))
    if ticket.is_open:
        actions.append(submit_button(t("agent_resolve"), action_data("resolve", ticket=str(ticket.number))))
    facts = ticket_facts(ticket, strings)
    while True:
        shown = list(ticket.transcript[-recent:]) if recent else []
        lines = [_line_markdown(line, strings) for line in shown]
        body: list[dict[str, Any]] = [
            text_block(title, weight="Bolder", size="Medium", style="heading"),
            {"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in facts]},
        ]
        if lines:
            body.append(text_block(t("agent_recent"), weight="Bolder", spacing="Medium"))
            body += [text_block(line, spacing="Small") for line in lines]
        earlier = len(ticket.transcript) - len(shown)
        if earlier:
            body.append(text_block(t("agent_earlier", count=str(earlier)), isSubtle=True, size="Small"))
        fallback = "\n\n".join([f"**{title}**", *(f"{label}: {value}" for label, value in facts), *lines])
        card = adaptive_card(body, actions, fallback, locale=strings.locale)
        if wire_size(card) <= MAX_CARD_BYTES or recent == 0:
            return card
        recent -= 1
