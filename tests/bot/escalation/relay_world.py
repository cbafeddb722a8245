"""What the relay flow tests share: one bot's escalation over a ``MemoryStorage``, a Teams user in a personal
chat, agents in a registered channel of a listed team, and every activity the bot sends (in a turn or
proactively) captured by botbuilder's ``TestAdapter``, with the conversation it went to."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import Any

from botbuilder.core import MemoryStorage, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount, ResourceResponse

from bot.cards import ACTION_KEY
from bot.escalation import Escalation, HandoffMode, Ticket, TicketState
from bot.escalation.hooks import AnswerCard
from bot.strings import Strings, strings_for
from bot.turn_state import load_states

TEAM = "19:team-support@thread.tacv2"
TENANT = "tenant-1"
CHANNEL = "19:support@thread.tacv2"
SERVICE_URL = "https://smba.example.com/emea/"
BOT = ChannelAccount(id="28:bot", name="Insight Desk")
USER = ChannelAccount(id="29:user-ada", name="Ada")
USER_CHAT = "a:chat-ada"
_IDS = count(1)
ANNA = ChannelAccount(id="29:agent-anna", name="Anna")
BEN = ChannelAccount(id="29:agent-ben", name="Ben")


def user_message(text: str = "", *, value: dict[str, Any] | None = None, user: ChannelAccount = USER,
                 conversation: str = USER_CHAT, locale: str = "en-US") -> Activity:
    """A Teams message from ``user`` in their personal chat with the bot."""
    return Activity(type=ActivityTypes.message, text=text, value=value, channel_id="msteams", service_url=SERVICE_URL,
                    locale=locale, from_property=user, recipient=BOT, id=f"m-{next(_IDS)}",
                    conversation=ConversationAccount(id=conversation, conversation_type="personal",
                                                     tenant_id=TENANT),
                    channel_data={"tenant": {"id": TENANT}})


def channel_message(text: str = "", *, value: dict[str, Any] | None = None, agent: ChannelAccount = ANNA,
                    thread: str | None = None, team: str = TEAM, channel: str = CHANNEL,
                    tenant: str = TENANT) -> Activity:
    """A message in a Teams channel of ``team`` (in one of its threads when given) by ``agent``."""
    conversation = thread or channel
    return Activity(type=ActivityTypes.message, text=text, value=value, channel_id="msteams", service_url=SERVICE_URL,
                    locale="en-US", from_property=agent, recipient=BOT, id=f"c-{next(_IDS)}",
                    reply_to_id=thread.split("=", 1)[1] if thread else None,
                    conversation=ConversationAccount(id=conversation, conversation_type="channel",
                                                     tenant_id=tenant),
                    channel_data={"channel": {"id": channel, "name": "Support"}, "team": {"id": team},
                                  "tenant": {"id": tenant}})


def text_of(activity: Activity) -> str:
    """What a sent activity says: its text, else its card's fallback text."""
    if activity.text:
        return str(activity.text)
    content = activity.attachments[0].content if activity.attachments else {}
    return str(content.get("fallbackText") or "")


def actions_of(activity: Activity) -> list[dict[str, Any]]:
    """The data of a sent card's buttons."""
    content = activity.attachments[0].content if activity.attachments else {}
    return [action["data"] for action in content.get("actions", [])]


class RecordingAdapter(TestAdapter):  # type: ignore[misc]  # botbuilder ships no types
    """botbuilder's ``TestAdapter``, keeping the id it gave each sent activity (``ids``, in order)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
        responses: list[ResourceResponse] = await super().send_activities(context, activities)
        self.ids += [r.id for r in responses]
        return responses


class World:
    """One bot's escalation; ``turn`` runs an activity as the plugin does (state loaded, transcript recorded,
    escalation asked, state saved) and returns what the bot sent, wherever it went."""

    def __init__(self, *, mode: HandoffMode = HandoffMode.TEAMS, answer: AnswerCard | None = None,
                 mask: Callable[[str], str] | None = None) -> None:
        self.storage = MemoryStorage()
        self.adapter = RecordingAdapter()
        self.entered: list[TicketState] = []
        self.escalation = Escalation(self.storage, app_id="app-1", mode=mode, agent_teams=frozenset({TEAM}),
                                     mask=mask, answer=answer, observe_state=self.entered.append)

    async def turn(self, activity: Activity, strings: Strings | None = None) -> tuple[bool, list[Activity]]:
        """Whether escalation handled ``activity``, and every activity sent meanwhile."""
        context = TurnContext(self.adapter, activity)
        state = self.escalation.conversation_state
        await load_states(context, state)
        await self.escalation.begin_turn(context)
        say = strings or strings_for(activity.locale)
        data = activity.value if isinstance(activity.value, dict) else {}
        if str(data.get(ACTION_KEY)) in self.escalation.card_actions:  # a button, as bot.actions dispatches it
            handled = await self.escalation.on_card_action(context, data, say)
        else:
            handled = await self.escalation.on_message(context, say)
        await state.save_changes(context)
        return handled, self.sent()

    async def overheard(self, activity: Activity) -> tuple[bool, list[Activity]]:
        """A channel message that does not mention the bot."""
        handled = await self.escalation.on_overheard(TurnContext(self.adapter, activity))
        return handled, self.sent()

    def sent(self) -> list[Activity]:
        """What the bot sent since the last call."""
        sent = list(self.adapter.activity_buffer)
        self.adapter.activity_buffer.clear()
        return sent

    async def register(self) -> None:
        handled, sent = await self.turn(channel_message("register agents"))
        assert handled and [text_of(a) for a in sent] == [strings_for("en-US").text(
            "agent_registered", scope=strings_for("en-US").text("agent_all_languages"))]

    async def ticket(self, number: int) -> Ticket:
        found = await self.escalation.tickets.get(number)
        assert found is not None
        return found

    async def open_ticket(self, description: str = "The VPN drops every hour") -> tuple[Ticket, str]:
        """Ada asks for a person and sends the confirm card; the ticket and its thread in the agents' channel."""
        await self.turn(user_message("My VPN keeps disconnecting"))
        _, sent = await self.turn(user_message("talk to a human"))
        (confirm, _cancel) = actions_of(sent[-1])
        await self.turn(user_message(value={**confirm, "description": description}))
        ticket = await self.escalation.tickets.open_for_user(USER.id)
        assert ticket is not None and ticket.thread is not None
        return ticket, ticket.thread

    async def take(self, thread: str, agent: ChannelAccount = ANNA, number: int = 1) -> list[Activity]:
        _, sent = await self.turn(channel_message(value={ACTION_KEY: "take", "ticket": str(number)},
                                                  agent=agent, thread=thread))
        return sent


def to(sent: list[Activity], conversation: str) -> list[Activity]:
    """The activities that went to ``conversation``."""
    return [a for a in sent if a.conversation and a.conversation.id == conversation]
