"""ESCALATION_HANDOFF selects where tickets go."""

from __future__ import annotations

import pytest

from bot.escalation import Escalation, HandoffMode
from bot.settings import Settings


def test_default_is_teams_and_values_are_read_case_blind() -> None:
    assert Settings.from_env({}, dotenv=None).escalation_handoff == "teams"
    assert Settings.from_env({"ESCALATION_HANDOFF": " Hub "}, dotenv=None).escalation_handoff == "hub"


def test_an_unknown_mode_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="ESCALATION_HANDOFF must be one of teams, hub, both"):
        Settings.from_env({"ESCALATION_HANDOFF": "email"}, dotenv=None)


def test_every_mode_builds_an_escalation() -> None:
    from botbuilder.core import MemoryStorage

    for mode in ("teams", "hub", "both"):
        assert Escalation(MemoryStorage(), mode=mode).mode is HandoffMode(mode)


def test_agent_teams_are_read_as_a_comma_separated_list_and_default_to_none() -> None:
    assert Settings.from_env({}, dotenv=None).agent_teams == frozenset()
    teams = Settings.from_env({"AGENT_TEAMS": " 19:a@thread.tacv2, ,0b1c2d3e-0000-4000-8000-00000000beef "},
                              dotenv=None).agent_teams
    assert teams == {"19:a@thread.tacv2", "0b1c2d3e-0000-4000-8000-00000000beef"}
