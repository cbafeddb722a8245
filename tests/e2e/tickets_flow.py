"""The escalation flow as Teams drives it, for end-to-end tests against one bot or several processes:
a user pastes an error and asks for a person, agents register a channel, take the ticket from its card
(posting the card's own ``Action.Submit`` data back, as Teams does) and talk in its thread."""

from __future__ import annotations

from typing import Any, Protocol

from tests.e2e.conftest import ConnectorStub, teams_message


class PostsActivities(Protocol):
    """A running bot (``BotServer`` in this process, ``BotProcess`` in another)."""

    async def post(self, body: Any) -> int: ...


CHANNEL = "19:general@thread.tacv2"
USER_CONVERSATION = "a:personal-29:user-1"
PASTE_SV = "Ett fel uppstod vid validering av åtkomsttoken"


def submits(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["data"]["insightDesk"]: a["data"] for a in card.get("actions", []) if a["type"] == "Action.Submit"}


def card_of(activity: dict[str, Any]) -> dict[str, Any] | None:
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            content: dict[str, Any] = attachment["content"]
            return content
    return None


def said(activity: dict[str, Any]) -> str:
    card = card_of(activity)
    return str(card["fallbackText"]) if card else str(activity.get("text") or "")


def to_conversation(connector: ConnectorStub, conversation: str) -> list[dict[str, Any]]:
    return [a for a in connector.received if a["conversation"]["id"] == conversation]


def agent_message(connector: ConnectorStub, text: str = "", *, thread: str | None = None, agent: str = "Anna",
                  value: dict[str, Any] | None = None, mention: bool = True) -> dict[str, Any]:
    """A message in the agents' channel (in a ticket's thread when given) by ``agent``, mentioning the bot
    unless ``mention`` is false (card data never does)."""
    activity = teams_message(connector.url, text, channel=True, mention=mention and not value, value=value,
                             user=f"29:agent-{agent.lower()}")
    activity["from"]["name"] = agent
    activity["channelData"]["channel"]["name"] = "Support"
    if thread:
        activity["conversation"]["id"] = thread
        activity["replyToId"] = thread.split("=", 1)[1]
    return activity


async def register(bot: PostsActivities, connector: ConnectorStub, words: str = "") -> None:
    await bot.post(agent_message(connector, f"register agents {words}".strip()))
    assert connector.received[-1]["text"] == f"This channel now receives support requests ({words or 'all languages'})."


async def escalate_with_button(bot: PostsActivities, connector: ConnectorStub, description: str, *,
                               user: str = "29:user-1") -> dict[str, Any]:
    """Paste, press "Talk to a person", confirm with a description; the ticket card posted to the channel."""
    confirm = await ask_for_a_person(bot, connector, description, user=user)
    return await confirm_ticket_from(bot, connector, confirm)


async def ask_for_a_person(bot: PostsActivities, connector: ConnectorStub, description: str, *,
                           user: str = "29:user-1") -> dict[str, Any]:
    """Paste, press "Talk to a person"; the confirmation (with ``description``) to post next, as Teams sends it."""
    await bot.post(teams_message(connector.url, PASTE_SV, locale="sv-SE", user=user))
    answer = card_of(connector.received[-1])
    assert answer is not None
    await bot.post(teams_message(connector.url, value=submits(answer)["escalate"], locale="sv-SE", user=user))
    confirm = card_of(connector.received[-1])
    assert confirm is not None and confirm["body"][1]["type"] == "Input.Text"
    assert "supportteamet" in confirm["body"][0]["text"]
    # Teams merges the input's value into the Action.Submit data
    data = {**submits(confirm)["escalate_confirm"], "description": description}
    return teams_message(connector.url, value=data, locale="sv-SE", user=user)


async def confirm_ticket(bot: PostsActivities, connector: ConnectorStub, data: dict[str, Any], *,
                         locale: str, user: str = "29:user-1") -> dict[str, Any]:
    return await confirm_ticket_from(bot, connector, teams_message(connector.url, value=data, locale=locale,
                                                                   user=user))


async def confirm_ticket_from(bot: PostsActivities, connector: ConnectorStub,
                              activity: dict[str, Any]) -> dict[str, Any]:
    """Post the confirmation; the one ticket card it started in the agents' channel."""
    before = len(connector.received)
    await bot.post(activity)
    posted = [a for a in connector.received[before:] if a["conversation"]["id"] == CHANNEL]
    assert len(posted) == 1, connector.received[before:]
    return posted[0]


def thread_of(connector: ConnectorStub, posted: dict[str, Any]) -> str:
    """The agents' thread a ticket card started (the stub answers each post with id ``reply-<n>``)."""
    return f"{CHANNEL};messageid=reply-{connector.received.index(posted) + 1}"
