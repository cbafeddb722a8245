"""``python -m bot chat``: the whole bot in the terminal, built as the server builds it (``compose_desk``:
the plugin with escalation, the state store and feedback store from the settings), over an in-process
adapter (``bot.cli.chat_adapter``).

The terminal plays two people. The **user** talks to the bot in a personal chat. ``/agent`` makes it an
**agent** in an agents' channel ("Support") of the first ``AGENT_TEAMS`` team (a terminal-only team when
``AGENT_TEAMS`` is empty), registered with ``register agents`` at start when it is not yet; ``/agent N``
goes to ticket N's thread, ``/user`` comes back. What the bot sends anywhere (replies, ticket cards, the
agent's words relayed to the user) is printed, marked with where it went when that is not where you are.
Buttons of the cards sent to the role you play are numbered: typing the number presses it (after asking
for the card's inputs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from botbuilder.core import Bot
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount, Mention

from bot.app import compose_desk, turn_error_handler
from bot.cli.chat_adapter import Sent, TerminalAdapter
from bot.cli.chat_cards import CardInput, Choice, Shown, numbered, shown
from bot.escalation import Escalation
from bot.handler import InsightDeskBot
from bot.settings import Settings, knowledge_folders
from bot.stores import aclose_storage, create_feedback_store, create_storage
from bot.stores.base import StorageError
from knowledge.engine import KnowledgeEngine

log = logging.getLogger(__name__)
Role = Literal["user", "agent"]
CHANNEL_ID = "cli"
BOT = ChannelAccount(id="insight-desk", name="Insight Desk")
USER = ChannelAccount(id="cli-user", name="Terminal user")
AGENT = ChannelAccount(id="cli-agent", name="Terminal agent")
USER_CONVERSATION = "cli"
TENANT = "insight-desk-terminal"
"""The tenant the terminal's user and agents' channel belong to: its tickets go to its channel only."""
TERMINAL_TEAM = "19:insight-desk-terminal@thread.tacv2"
"""The agents' team when ``AGENT_TEAMS`` names none: known to this process only."""
AGENTS_CHANNEL = "19:insight-desk-terminal-support@thread.tacv2"
AGENTS_CHANNEL_NAME = "Support"
_AGENT_COMMAND = re.compile(r"^/agent(?:\s+#?(\d+))?$", re.IGNORECASE)
_MESSAGE_ID = re.compile(r";messageid=(.+)$")


def terminal_settings(settings: Settings) -> Settings:
    """``settings`` with an agents' team for the terminal: the configured ones, else ``TERMINAL_TEAM``."""
    return settings if settings.agent_teams else dataclasses.replace(settings, agent_teams=frozenset({TERMINAL_TEAM}))


@dataclasses.dataclass(frozen=True)
class Pressable:
    """A numbered button: the choice, and the conversation and message of the card it is on."""

    choice: Choice
    conversation_id: str
    card_id: str | None


class TerminalChat:
    """One terminal playing the user and, on ``/agent``, an agent; see the module."""

    def __init__(self, bot: Bot, adapter: TerminalAdapter, escalation: Escalation, *, team: str,
                 stdin: TextIO, stdout: TextIO, locale: str | None = None) -> None:
        self.bot = bot
        self.adapter = adapter
        self.escalation = escalation
        self.team = team
        self.stdin = stdin
        self.stdout = stdout
        self.locale = locale
        self.role: Role = "user"
        self.agent_place = AGENTS_CHANNEL
        """The conversation the agent writes in: the channel, or a ticket's thread."""
        self.choices: dict[Role, list[Pressable]] = {"user": [], "agent": []}
        self._ids = itertools.count(1)
        self._threads: dict[str, int] = {}

    # -- the loop ------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Welcome, make sure the agents' channel is registered, then one turn per line until end of input."""
        await self._turn(self._activity("user", type=ActivityTypes.conversation_update,
                                        members_added=[USER, BOT]))
        try:
            queue = await self.escalation.queues.find(AGENTS_CHANNEL)
        except StorageError as e:  # the turns log it again and carry on without escalation, as the server does
            log.error("could not read the agents' channels: %s", e)
            queue = None
        if queue is None or queue.team != self.team or queue.tenant != TENANT:
            await self._turn(self._activity("agent", text="register agents", conversation_id=AGENTS_CHANNEL))
        self._write(f"(Ctrl-D ends the conversation. Type a button's number to press it. /agent plays support in "
                    f"the {AGENTS_CHANNEL_NAME} channel of team {self.team}, /agent N in ticket N's thread; "
                    f"/user comes back.)\n")
        while True:
            line = await self._read(self._prompt())
            if line is None:
                break
            text = line.strip()
            if not text:
                continue
            if await self._command(text):
                continue
            pressed = self._choice(text)
            activity = await self._press(pressed) if pressed is not None else self._typed(text)
            if activity is None:  # the input ended while a card's inputs were asked for
                break
            await self._turn(activity)

    def _prompt(self) -> str:
        if self.role == "user":
            return "> "
        number = self._threads.get(self.agent_place)
        return f"support #{number}> " if number is not None else "support> "

    async def _read(self, prompt: str) -> str | None:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = await asyncio.to_thread(self.stdin.readline)
        return line.rstrip("\n") if line else None

    def _write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    async def _command(self, text: str) -> bool:
        """``/agent [N]`` and ``/user``: the terminal's own commands, never sent to the bot."""
        agent = _AGENT_COMMAND.match(text)
        if text.lower() == "/user":
            self.role = "user"
            self._write(f"(You are the user again.)\n{self._choice_list('user')}")
            return True
        if agent is None:
            return False
        if agent.group(1):
            try:
                ticket = await self.escalation.tickets.get(int(agent.group(1)))
            except StorageError as e:
                log.error("could not read ticket %s: %s", agent.group(1), e)
                ticket = None
            if ticket is None or not ticket.thread or ticket.queue != AGENTS_CHANNEL:
                self._write(f"(Ticket #{agent.group(1)} has no thread in the {AGENTS_CHANNEL_NAME} channel.)\n")
                return True
            self.agent_place = ticket.thread
            self._threads[ticket.thread] = ticket.number
        self.role = "agent"
        self._write(f"(You are {AGENT.name} in {self._where(self.agent_place)}.)\n{self._choice_list('agent')}")
        return True

    def _choice_list(self, role: Role) -> str:
        pressable = self.choices[role]
        return numbered([p.choice for p in pressable], []) + "\n" if pressable else ""

    # -- what is sent to the bot -----------------------------------------------------------------------

    def _activity(self, role: Role, *, conversation_id: str = USER_CONVERSATION, **fields: Any) -> Activity:
        """An activity from ``role`` in ``conversation_id``, shaped as Teams sends it (tenant, team, channel)."""
        channel_data: dict[str, Any] = {"tenant": {"id": TENANT}}
        if role == "user":
            conversation = ConversationAccount(id=conversation_id, conversation_type="personal", tenant_id=TENANT)
        else:
            conversation = ConversationAccount(id=conversation_id, conversation_type="channel", is_group=True,
                                               tenant_id=TENANT)
            channel_data.update(team={"id": self.team}, channel={"id": AGENTS_CHANNEL, "name": AGENTS_CHANNEL_NAME})
            thread = _MESSAGE_ID.search(conversation_id)
            fields.setdefault("reply_to_id", thread.group(1) if thread else None)
            if fields.get("text") and fields.get("value") is None:  # typed in a channel: addressed to the bot
                mention = f"<at>{BOT.name}</at>"
                fields["text"] = f"{mention} {fields['text']}"
                fields["entities"] = [Mention(mentioned=BOT, text=mention, type="mention")]
        fields.setdefault("type", ActivityTypes.message)
        return Activity(id=f"in{next(self._ids)}", timestamp=datetime.now(UTC), channel_id=CHANNEL_ID,
                        from_property=USER if role == "user" else AGENT, recipient=BOT, conversation=conversation,
                        channel_data=channel_data, locale=self.locale if role == "user" else None, **fields)

    def _typed(self, text: str) -> Activity:
        if self.role == "user":
            return self._activity("user", text=text)
        return self._activity("agent", text=text, conversation_id=self.agent_place)

    def _choice(self, text: str) -> Pressable | None:
        """The button a typed number names among the role's latest ones, else ``None`` (it is text)."""
        pressable = self.choices[self.role]
        return pressable[int(text) - 1] if text.isdigit() and 1 <= int(text) <= len(pressable) else None

    async def _press(self, pressed: Pressable) -> Activity | None:
        """What pressing the button sends, once its card's inputs are filled in (``None``: the input ended)."""
        choice = pressed.choice
        answers = await self._fill(choice.inputs)
        if answers is None:
            return None
        if self.role == "agent" and _MESSAGE_ID.search(pressed.conversation_id):
            self.agent_place = pressed.conversation_id  # as in Teams: you go on in the thread whose card you pressed
            await self._label(pressed.conversation_id)
        fields: dict[str, Any] = {"reply_to_id": pressed.card_id}
        if choice.invoke is not None:
            fields.update(type=ActivityTypes.invoke, name="adaptiveCard/action", value=choice.submitted(answers))
        else:
            fields.update(text=choice.text, value=choice.submitted(answers) if choice.text is None or
                          choice.value is not None else None)
        return self._activity(self.role, conversation_id=pressed.conversation_id, **fields)

    async def _fill(self, inputs: tuple[CardInput, ...]) -> dict[str, str] | None:
        """Ask for each input of a pressed card; ``None`` when the input ended."""
        answers: dict[str, str] = {}
        for field in inputs:
            if not field.choices:
                line = await self._read(f"{field.label}: ")
                if line is None:
                    return None
                answers[field.id] = line.strip()
                continue
            default = next((title for title, value in field.choices if value == field.default), "")
            self._write(f"{field.label}\n" + "\n".join(f"  {n}) {title}" for n, (title, _) in
                                                        enumerate(field.choices, 1)) + "\n")
            line = await self._read(f"(number{f', Enter for {default}' if default else ''}): ")
            if line is None:
                return None
            answers[field.id] = _picked(field, line.strip())
        return answers

    # -- what the bot sends ----------------------------------------------------------------------------

    async def _turn(self, activity: Activity) -> None:
        """One turn, then everything it sent, wherever it went."""
        await self.adapter.process(activity, self.bot.on_turn)
        await self._show(self.adapter.take())

    def _role_of(self, conversation_id: str) -> Role | None:
        if conversation_id == USER_CONVERSATION:
            return "user"
        if conversation_id == AGENTS_CHANNEL or conversation_id.startswith(AGENTS_CHANNEL + ";"):
            return "agent"
        return None

    def _here(self) -> str:
        return USER_CONVERSATION if self.role == "user" else self.agent_place

    async def _show(self, sent: list[Sent]) -> None:
        batch: dict[Role, list[Pressable]] = {"user": [], "agent": []}
        for each in sent:
            activity = each.activity
            if activity.type == ActivityTypes.event:
                self._write(f"[{await self._label(each.conversation_id)}]\n(event {activity.name})\n\n")
                continue
            if activity.type != ActivityTypes.message:
                continue
            role = self._role_of(each.conversation_id)
            seen = shown(activity)
            parts = []
            if each.conversation_id != self._here() or each.updated:
                label = await self._label(each.conversation_id)
                parts.append(f"[{label}{' · card updated' if each.updated else ''}]")
            if seen.text:
                parts.append(seen.text)
            parts.append(self._buttons(seen, role, batch))
            self._write("\n".join(p for p in parts if p) + "\n\n")
            if role is not None:
                batch[role] += [Pressable(c, _reply_conversation(each), activity.id) for c in seen.choices]
        for role, pressable in batch.items():
            if pressable:
                self.choices[role] = pressable

    def _buttons(self, seen: Shown, role: Role | None, batch: dict[Role, list[Pressable]]) -> str:
        """Numbered buttons for the role you play; the other role's buttons by name (its numbers on switching)."""
        if role == self.role:
            return numbered(seen.choices, seen.links, start=len(batch[role]) + 1)
        names = " ".join(f"[{c.title}]" for c in seen.choices)
        return "\n".join(part for part in (f"  {names}" if names else "", numbered([], seen.links)) if part)

    async def _label(self, conversation_id: str) -> str:
        """Where a conversation is, for a person: the user's chat, the agents' channel, a ticket's thread."""
        if conversation_id == USER_CONVERSATION:
            return f"to {USER.name}"
        if _MESSAGE_ID.search(conversation_id) and conversation_id not in self._threads:
            try:
                ticket = await self.escalation.tickets.for_thread(conversation_id)
            except StorageError as e:  # the thread is then named without its ticket's number
                log.error("could not read the ticket of thread %s: %s", conversation_id, e)
                ticket = None
            if ticket is not None:
                self._threads[conversation_id] = ticket.number
        return self._where(conversation_id) if self._role_of(conversation_id) else conversation_id

    def _where(self, conversation_id: str) -> str:
        if conversation_id == AGENTS_CHANNEL:
            return f"{AGENTS_CHANNEL_NAME} channel"
        number = self._threads.get(conversation_id)
        return f"{AGENTS_CHANNEL_NAME} · ticket #{number}" if number is not None else f"{AGENTS_CHANNEL_NAME} · thread"


def _reply_conversation(sent: Sent) -> str:
    """Where pressing a button of ``sent`` happens: a new post in the agents' channel starts a thread (Teams
    sends its buttons from ``<channel>;messageid=<post>``), anything else stays in its conversation."""
    if sent.conversation_id == AGENTS_CHANNEL and not sent.updated:
        return f"{AGENTS_CHANNEL};messageid={sent.activity.id}"
    return sent.conversation_id


def _picked(field: CardInput, typed: str) -> str:
    """A choice set's value from what was typed: its number, its value or title, else its default."""
    if typed.isdigit() and 1 <= int(typed) <= len(field.choices):
        return field.choices[int(typed) - 1][1]
    for title, value in field.choices:
        if typed.casefold() in (title.casefold(), value.casefold()):
            return value
    return field.default


async def chat(settings: Settings, stdin: TextIO, stdout: TextIO, locale: str | None = None,
               engine: KnowledgeEngine | None = None) -> None:
    """Read messages line by line from ``stdin`` and print what the bot sends to ``stdout`` (see the module);
    without ``engine``, the knowledge base the server loads (``KB_PATH``, then ``KB_LEARNED_PATH``)."""
    settings = terminal_settings(settings)
    if engine is None:
        engine = KnowledgeEngine.load(knowledge_folders(settings), cache_dir=settings.kb_cache_dir)
    storage = create_storage(settings.state_store, blob_connection_string=settings.azure_storage_connection_string)
    try:
        desk, escalation = compose_desk(settings, engine, storage, create_feedback_store(storage))
        adapter = TerminalAdapter(turn_error_handler(desk))
        terminal = TerminalChat(InsightDeskBot(desk), adapter, escalation, team=sorted(settings.agent_teams)[0],
                                stdin=stdin, stdout=stdout, locale=locale)
        await terminal.run()
    finally:
        await aclose_storage(storage)


def run_chat(settings: Settings, *, input: TextIO = sys.stdin, output: TextIO = sys.stdout,
             locale: str | None = None, engine: KnowledgeEngine | None = None) -> None:
    """``python -m bot chat``: the conversation above until end of input."""
    asyncio.run(chat(settings, input, output, locale, engine))


__all__ = ["TerminalChat", "chat", "run_chat", "terminal_settings"]
