"""The handoff protocol's events, as the other Bot Framework SDKs publish them."""

from __future__ import annotations

from datetime import UTC, datetime

from botbuilder.core import TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from bot.escalation.handoff import HandoffState, handoff_context, handoff_initiation, parse_status
from bot.escalation.tickets import Line, Person, Role, Ticket

AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_initiation_has_the_published_shape() -> None:
    incoming = Activity(type=ActivityTypes.message, id="act-1", text="talk to a human", channel_id="msteams",
                        service_url="https://smba.example/", from_property=ChannelAccount(id="29:u", name="Admin"),
                        recipient=ChannelAccount(id="28:bot", name="Insight Desk"),
                        conversation=ConversationAccount(id="a:1"))
    context = TurnContext(TestAdapter(), incoming)
    ticket = Ticket(number=3, user=Person("29:u", "Admin"), conversation={"conversation": {"id": "a:1"}},
                    locale="ko-KR", questions=("액세스 토큰 오류",), article="art", score=91.5,
                    transcript=(Line(Role.USER, "Admin", "액세스 토큰 오류", AT),
                                Line(Role.BOT, "Insight Desk", "**Answer**", AT)))
    event = handoff_initiation(context, ticket, handoff_context(ticket)).serialize()
    assert event["type"] == "event" and event["name"] == "handoff.initiate"
    assert event["conversation"]["id"] == "a:1"
    assert event["from"]["id"] == "29:u"
    assert event["replyToId"] == "act-1" and event["serviceUrl"] == "https://smba.example/"
    assert event["relatesTo"]["conversation"]["id"] == "a:1" and event["relatesTo"]["activityId"] == "act-1"
    assert event["value"] == {"ticket": 3, "locale": "ko-KR", "article": "art", "score": 91.5,
                              "question": "액세스 토큰 오류", "description": ""}
    (attachment,) = event["attachments"]
    assert attachment["contentType"] == "application/json" and attachment["name"] == "Transcript"
    messages = attachment["content"]["activities"]
    assert [(m["from"]["id"], m["text"]) for m in messages] == [("29:u", "액세스 토큰 오류"), ("28:bot", "**Answer**")]


def test_status_values() -> None:
    accepted = parse_status({"state": "accepted", "message": "Eva"})
    assert accepted is not None and accepted.state is HandoffState.ACCEPTED and accepted.message == "Eva"
    completed = parse_status({"state": "Completed"})
    assert completed is not None and completed.state is HandoffState.COMPLETED
    assert parse_status({"state": "typing"}) is None
    assert parse_status("completed") is None
    assert parse_status(None) is None
