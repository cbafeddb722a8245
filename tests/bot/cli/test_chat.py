"""``python -m bot chat``: a terminal conversation through the same handler, with an in-process adapter."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from botbuilder.core import ActivityHandler, InvokeResponse, MemoryStorage, TurnContext
from botbuilder.schema import Activity, ActivityTypes, Attachment, CardAction, SuggestedActions

from bot.cli.chat import TerminalChat, chat
from bot.cli.chat_adapter import TerminalAdapter
from bot.cli.chat_cards import ADAPTIVE_CARD, CardInput, shown
from bot.escalation import Escalation
from bot.settings import Settings

PROMPT = re.compile(r"(?m)^(?:support(?: #\d+)?)?> ")
"""The user's prompt, and the agent's (in the channel, in ticket N's thread)."""


async def converse(*lines: str, locale: str | None = None) -> list[str]:
    """The replies printed for ``lines``, one string per prompt (the welcome first)."""
    out = io.StringIO()
    await chat(Settings(state_store="memory://", kb_cache_dir=None), io.StringIO("\n".join(lines) + "\n"), out,
               locale=locale)
    return [part.strip() for part in PROMPT.split(out.getvalue())]


async def test_welcome_answer_language_switch_and_not_found() -> None:
    welcome, answer, switched, korean, unknown, end = await converse(
        "Ett fel uppstod vid validering av åtkomsttoken", "/language ko",
        "There was an error validating access token", "the printer is out of paper")
    assert welcome.startswith("**Hi, I'm Insight Desk**")
    assert answer.startswith('**Felet "Ett fel uppstod vid validering av åtkomsttoken"')
    assert "https://learn.microsoft.com/sv-se/azure/active-directory/conditional-access/" in answer
    assert "/language ko-KR (한국어)" in answer
    assert switched == "지금부터 한국어(으)로 답변하겠습니다."
    assert korean.startswith("**Desktop Analytics") and "액세스 토큰" in korean
    assert unknown.startswith("해당 메시지에 대한 문서를 찾지 못했습니다.")
    assert end == ""


async def test_the_welcome_follows_the_given_locale() -> None:
    welcome, *_ = await converse("", locale="zh-TW")
    assert welcome.startswith("**您好，我是 Insight Desk**")


async def test_agent_goes_to_a_tickets_thread_by_number() -> None:
    *_, thread, unknown, user, end = await converse("talk to a human", "1", "", "/agent 1", "/agent 9", "/user")
    assert thread == "(You are Terminal agent in Support · ticket #1.)\n  1) Take it\n  2) Resolve"
    assert unknown == "(Ticket #9 has no thread in the Support channel.)"
    assert user == "(You are the user again.)\n  1) End the conversation"
    assert end == ""


CARD: dict[str, Any] = {
    "type": "AdaptiveCard", "version": "1.5", "fallbackText": "Pick one",
    "body": [{"type": "Container", "items": [{"type": "Input.Text", "id": "note", "label": "Note"}]}],
    "actions": [
        {"type": "Action.Submit", "title": "Send", "data": {"insightDesk": "x"}},
        {"type": "Action.Submit", "title": "Say hello", "data": {"msteams": {"type": "imBack", "value": "hello"}}},
        {"type": "Action.Submit", "title": "More", "associatedInputs": "none",
         "data": {"msteams": {"type": "messageBack", "text": "more", "value": {"page": 2}}}},
        {"type": "Action.Execute", "title": "Run", "verb": "run", "data": {"a": "b"}},
        {"type": "Action.ShowCard", "title": "Size", "card": {
            "type": "AdaptiveCard",
            "body": [{"type": "Input.ChoiceSet", "id": "size", "label": "Size", "value": "m",
                      "choices": [{"title": "Small", "value": "s"}, {"title": "Medium", "value": "m"}]}],
            "actions": [{"type": "Action.Submit", "title": "Apply", "data": {"insightDesk": "size"}}]}},
        {"type": "Action.OpenUrl", "title": "Docs", "url": "https://learn.microsoft.com/"},
    ],
}


def card_activity(card: dict[str, Any]) -> Activity:
    return Activity(type=ActivityTypes.message, attachments=[Attachment(content_type=ADAPTIVE_CARD, content=card)])


def test_a_cards_buttons_become_choices_that_send_what_the_card_defines() -> None:
    seen = shown(card_activity(CARD))
    assert seen.text == "Pick one"
    assert [c.title for c in seen.choices] == ["Send", "Say hello", "More", "Run", "Size › Apply"]
    send, hello, more, run, apply = seen.choices
    note = CardInput("note", "Note")
    assert (send.inputs, send.submitted({"note": "typed"})) == ((note,), {"insightDesk": "x", "note": "typed"})
    assert send.submitted({"note": ""}) == {"insightDesk": "x"}  # nothing typed, nothing sent
    assert (hello.text, hello.value, hello.inputs) == ("hello", None, ())
    assert (more.text, more.value, more.inputs) == ("more", {"page": 2}, ())
    assert run.invoke == "run"
    assert run.submitted({"note": "n"}) == {"action": {"type": "Action.Execute", "verb": "run",
                                                       "data": {"a": "b", "note": "n"}}}
    assert [i.id for i in apply.inputs] == ["note", "size"]
    assert apply.inputs[1].choices == (("Small", "s"), ("Medium", "m")) and apply.inputs[1].default == "m"
    assert seen.links == [("Docs", "https://learn.microsoft.com/")]


def test_suggestions_and_hero_card_buttons_become_choices() -> None:
    hero = {"title": "Hero", "buttons": [{"type": "postBack", "title": "Quiet", "value": "quiet"},
                                         {"type": "openUrl", "title": "Site", "value": "https://example.org/"}]}
    activity = Activity(type=ActivityTypes.message, text="Choose",
                        attachments=[Attachment(content_type="application/vnd.microsoft.card.hero", content=hero)],
                        suggested_actions=SuggestedActions(actions=[
                            CardAction(type="imBack", title="Yes", value="yes"),
                            CardAction(type="messageBack", title="Later", text="later", value={"when": "soon"})]))
    seen = shown(activity)
    assert seen.text == "Choose\nHero"
    assert [(c.title, c.text, c.value) for c in seen.choices] == [
        ("Quiet", "quiet", None), ("Yes", "yes", None), ("Later", "later", {"when": "soon"})]
    assert seen.links == [("Site", "https://example.org/")]


class EchoBot(ActivityHandler):  # type: ignore[misc]  # botbuilder ships no types
    """Sends ``CARD`` on "card"; otherwise says what it received (text, value, invoke)."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.text == "card":
            await turn_context.send_activity(card_activity(CARD))
            return
        value = json.dumps(activity.value, sort_keys=True)
        await turn_context.send_activity(f"got text={activity.text!r} value={value} reply_to={activity.reply_to_id}")

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        await turn_context.send_activity(f"got invoke {activity.name} {json.dumps(activity.value, sort_keys=True)}")
        return InvokeResponse(status=200)


async def test_typing_a_number_sends_the_buttons_action_after_asking_for_the_cards_inputs() -> None:
    out = io.StringIO()
    lines = ["card", "1", "my note", "2", "3", "4", "", "5", "x", "1", "6"]
    storage = MemoryStorage()
    terminal = TerminalChat(EchoBot(), TerminalAdapter(), Escalation(storage), team="19:t@thread.tacv2",
                            stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    await terminal.run()
    *_, card, send, hello, more, run, apply, six, end = [p.strip() for p in out.getvalue().split("> ")]
    assert card.startswith("Pick one\n  1) Send\n  2) Say hello\n  3) More\n  4) Run\n  5) Size › Apply\n"
                           "  ↗ Docs: https://learn.microsoft.com/")
    card_id = terminal.choices["user"][0].card_id
    assert card_id
    assert send == f"Note: got text=None value={{\"insightDesk\": \"x\", \"note\": \"my note\"}} reply_to={card_id}"
    assert hello == f"got text='hello' value=null reply_to={card_id}"
    assert more == f"got text='more' value={{\"page\": 2}} reply_to={card_id}"
    assert run == ('Note: got invoke adaptiveCard/action {"action": {"data": {"a": "b"}, "type": "Action.Execute", '
                   '"verb": "run"}}')
    assert apply == (f"Note: Size\n  1) Small\n  2) Medium\n(number, Enter for Medium): got text=None "
                     f"value={{\"insightDesk\": \"size\", \"note\": \"x\", \"size\": \"s\"}} reply_to={card_id}")
    assert six == "got text='6' value=null reply_to=None"  # no sixth button: the text as typed
    assert end == ""


async def test_suggestions_show_the_version_the_user_would_get_never_a_third_language() -> None:
    _, answer, suggested, end = await converse("There was an error validating access token",
                                               "This did not help, I want to talk to a person")
    assert end == ""
    heading = '"There was an error validating access token" error during Desktop Analytics onboarding'
    assert answer.startswith(f"**{heading}**")
    assert suggested.startswith(f"**Did you mean one of these?**\n\n1. {heading}\n  1) {heading[:60]}")
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in suggested)  # the Korean heading was offered before

