"""Who is support: the registered agents' channels whose team the admin lists in ``AGENT_TEAMS``.

A channel acts as a queue only while its team (Teams team id or AAD group id) is listed, and only for
activities naming the team and tenant it was registered from; anywhere else agents' commands and buttons
change nothing.
"""

from __future__ import annotations

import logging

from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from bot.channel.channel_text import client_locale
from bot.escalation.origin import channel_id_of, person_of, shown, team_of, tenant_of
from bot.escalation.queues import Queue, QueueRegistry
from bot.strings import Strings, strings_for

log = logging.getLogger(__name__)


class AgentChannels:
    """The queues of ``registry`` that may act as support, given the listed ``agent_teams``."""

    def __init__(self, registry: QueueRegistry, agent_teams: frozenset[str]) -> None:
        self.registry = registry
        self.agent_teams = frozenset(t.strip() for t in agent_teams if t.strip())

    def listed(self, team: str, group: str) -> bool:
        """Whether a team (its id or AAD group id) is in ``AGENT_TEAMS``."""
        return bool(team and team in self.agent_teams) or bool(group and group in self.agent_teams)

    async def active(self) -> list[Queue]:
        """The registered queues whose team is still listed in ``AGENT_TEAMS``: the only ones tickets reach."""
        return [q for q in await self.registry.all() if self.listed(q.team, q.team_group)]

    async def queue_here(self, activity: Activity) -> Queue | None:
        """The agents' queue ``activity`` was posted in: a registered channel of a listed team, the activity
        naming the team and tenant it was registered from; ``None`` anywhere else."""
        channel = channel_id_of(activity)
        queue = await self.registry.find(channel) if channel else None
        if queue is None or not self.listed(queue.team, queue.team_group):
            return None
        if team_of(activity)[0] != queue.team or tenant_of(activity) != queue.tenant:
            return None
        return queue

    async def refuse(self, turn_context: TurnContext, action: str, what: str, say: Strings) -> None:
        """An agent's button (``action`` on ``what``: "ticket 12", "proposal …") pressed or forged outside an
        agents' channel: nothing changes, it is logged. In a channel the sender learns why; in a personal or
        group chat the bot says nothing (no agent works there)."""
        activity = turn_context.activity
        channel = channel_id_of(activity)
        team, group = team_of(activity)
        log.warning("refused %s of %s from %s %s (team %s, tenant %s, user %s): not an agents' channel",
                    action, what, activity.conversation.conversation_type if activity.conversation else None,
                    channel or (activity.conversation.id if activity.conversation else None), team or "none",
                    tenant_of(activity) or "none", person_of(activity).id)
        if channel is None:
            return
        if not self.listed(team, group):
            await turn_context.send_activity(say.text("agent_team_not_allowed", team=shown(team or "?")))
        else:
            await turn_context.send_activity(say.text("agent_not_a_queue"))

    async def log_unlisted(self) -> None:
        """At start: say which registered channels no longer receive tickets because their team is not listed."""
        for queue in await self.registry.all():
            if not self.listed(queue.team, queue.team_group):
                log.warning("agents' channel %s (team %s, tenant %s) is registered but its team is not in "
                            "AGENT_TEAMS: it receives no tickets", queue.channel_id, queue.team or "unknown",
                            queue.tenant or "none")


def agent_strings(activity: Activity, queue: Queue | None) -> Strings:
    """An agent's language: their client's, else their channel's."""
    locale = client_locale(activity)
    return strings_for(locale) if locale else strings_for(queue.agent_locale if queue else None)
