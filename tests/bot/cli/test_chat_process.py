"""``python -m bot chat`` as a person uses it: a real process fed through stdin, its state in a temporary
SQLite file, then ``python -m bot report`` over the same file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.strings import strings_for

REPO = Path(__file__).resolve().parents[3]
PASTE = "There was an error validating access token"
PROMPT = re.compile(r"(?m)^(?:support(?: #\d+)?)?> ")
"""The user's prompt ``> ``, the agent's ``support> `` (``support #N> `` in ticket N's thread)."""
NOTHING_REPORTED = "No unanswered or unhelpful queries recorded."


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AGENT_TEAMS", "ESCALATION_HANDOFF", "REDACT_TRANSCRIPTS", "KB_PATH", "ALLOWED_TENANTS")}
    env.update(STATE_STORE=f"sqlite:///{state}", KB_CACHE_DIR="", PYTHONPATH=str(REPO))
    return env


def chat(state: Path, *lines: str, locale: str | None = None) -> list[str]:
    """What ``chat`` printed for the typed ``lines``: one part per prompt, the welcome first, stripped."""
    argv = [sys.executable, "-m", "bot", "chat", *(["--locale", locale] if locale else [])]
    done = subprocess.run(argv, input="\n".join(lines) + "\n", cwd=state.parent, env=_env(state),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [part.strip() for part in PROMPT.split(done.stdout)]


def report(state: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", "report"], cwd=state.parent, env=_env(state),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("locale", "asked", "status_word", "language"), [
    (None, "talk to a human", "status", "en-US"),
    ("sv-SE", "mänsklig handläggare", "status", "sv-SE"),
    (None, "상담원 연결", "상태", "ko-KR"),  # no client locale: Hangul says Korean
])
def test_asking_for_a_person_makes_a_ticket_in_the_users_language(tmp_path: Path, locale: str | None, asked: str,
                                                                  status_word: str, language: str) -> None:
    say = strings_for(language)
    state = tmp_path / "state.db"
    welcome, offer, created, status, end = chat(state, asked, "1", "the sync fails every morning", status_word,
                                                locale=locale)
    assert welcome.endswith("/user comes back.)")
    assert "[Support channel]\nThis channel now receives support requests (all languages)." in welcome
    assert offer.startswith(say.text("confirm_escalation"))
    assert f"1) {say.text('send_to_support')}" in offer and f"2) {say.text('cancel')}" in offer
    assert say.text("ticket_created", number="1") in created
    card = created.split("[Support channel]", 1)[1]  # the ticket card, posted in the agents' channel
    assert "the sync fails every morning" in card and asked in card
    assert status == say.text("status_waiting", number="1")
    assert end == ""
    assert report(state) == NOTHING_REPORTED  # neither the request nor the status command went unanswered


@pytest.mark.timeout(240)
def test_the_agent_takes_the_ticket_and_the_user_reads_the_reply(tmp_path: Path) -> None:
    say = strings_for("en-US")
    state = tmp_path / "state.db"
    parts = chat(state, PASTE, "3", "1", "", "/agent", "1", "Please sign out and in again", "/user", "status",
                 "That fixed it")
    _, answer, offer, created, agent, took, replied, user, status, relayed, end = parts
    assert f"3) {say.text('talk_to_person')}" in answer
    assert offer.startswith(say.text("confirm_escalation"))
    assert say.text("ticket_created", number="1") in created
    assert agent.startswith("(You are Terminal agent in Support channel.)")
    assert "1) Take it" in agent
    assert "Terminal agent took request #1." in took
    assert f"[to Terminal user]\n{say.text('agent_joined', agent='Terminal agent')}" in took
    assert replied == (f"[to Terminal user]\n"
                       f"{say.text('agent_says', agent='Terminal agent', text='Please sign out and in again')}")
    assert user.startswith("(You are the user again.)")
    assert status == say.text("status_assigned", number="1", agent="Terminal agent")
    assert relayed == "[Support · ticket #1]\n**Terminal user:** That fixed it"
    assert end == ""
    reported = report(state)
    assert "unanswered" not in reported
    for typed in ("Please sign out", "status", "That fixed it"):
        assert typed not in reported


@pytest.mark.timeout(240)
def test_numbered_buttons_press_the_answer_cards_actions(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    _, answer, thanked, korean, status, end = chat(state, PASTE, "1", "4", "3", "status")
    assert "1) This helped" in answer and "4) Other languages › Show in this language" in answer
    assert thanked == strings_for("en-US").text("thanks")
    assert "1) 한국어" not in korean and "3) 한국어" in korean  # the picker's choices, asked for first
    answer_ko = korean.split("):", 1)[1].strip()
    assert answer_ko.startswith("**Desktop Analytics") and "액세스 토큰" in answer_ko
    assert status == strings_for("ko-KR").text("status_none")  # the language the picker chose is kept
    assert end == ""
