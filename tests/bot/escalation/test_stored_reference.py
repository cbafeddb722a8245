"""The reference the bot stores: known fields only, each of a bounded shape, read back the same way."""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationReference, RoleTypes

from bot.escalation.queues import Queue, _from_document, _to_document
from bot.escalation.stored_reference import (
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    reference_from_document,
    stored_reference,
)
from bot.escalation.tickets import Person, Ticket, ticket_from_document, ticket_to_document

TAGS = {"py/b64": 1, "py/object": "os.system", "nested": [{"py/id": 1}]}


def activity(**changes: Any) -> Activity:
    body: dict[str, Any] = {
        "type": "message", "id": "activity-1", "channelId": "msteams", "serviceUrl": "https://smba.example/emea/",
        "locale": "sv-SE",
        "from": {"id": "29:user-1", "name": "Admin", "aadObjectId": "aad-1", "role": "user", "properties": TAGS},
        "recipient": {"id": "28:bot", "name": "Insight Desk", "role": "bot", "properties": TAGS},
        "conversation": {"id": "a:personal-1", "conversationType": "personal", "tenantID": "t-1", "isGroup": False,
                         "name": "chat", "role": "user", "aadObjectId": "aad-c", "properties": TAGS},
    }
    body.update(changes)
    return Activity().deserialize(body)


def test_only_the_known_fields_are_kept_and_they_send_as_before() -> None:
    reference = TurnContext.get_conversation_reference(activity())
    stored = stored_reference(reference)
    assert stored == {
        "activityId": "activity-1", "channelId": "msteams", "serviceUrl": "https://smba.example/emea/",
        "locale": "sv-SE",
        "user": {"id": "29:user-1", "name": "Admin", "aadObjectId": "aad-1", "role": "user"},
        "bot": {"id": "28:bot", "name": "Insight Desk"},
        "conversation": {"id": "a:personal-1", "conversationType": "personal", "tenantID": "t-1", "isGroup": False,
                         "name": "chat"},
    }
    back = ConversationReference().deserialize(stored)  # what a proactive send reads
    assert (back.conversation.id, back.conversation.tenant_id, back.user.id, back.bot.id, back.service_url) == (
        "a:personal-1", "t-1", "29:user-1", "28:bot", "https://smba.example/emea/")
    assert back.user.properties is None and back.conversation.properties is None
    assert reference_from_document(stored) == stored


def test_every_value_is_plain_text_of_bounded_length_or_left_out() -> None:
    reference = TurnContext.get_conversation_reference(activity())
    reference.user.role = RoleTypes.user  # an enum, as botbuilder's own code sets it
    reference.user.name = "N" * (MAX_NAME_CHARS + 50) + "\ud800"
    reference.user.aad_object_id = "a" * (MAX_ID_CHARS + 1)
    reference.bot.id = "28:bot\nX-Injected: 1"
    reference.conversation.is_group = "yes"
    stored = stored_reference(reference)
    assert stored["user"] == {"id": "29:user-1", "name": "N" * MAX_NAME_CHARS, "role": "user"}
    assert type(stored["user"]["role"]) is str
    assert stored["bot"] == {"name": "Insight Desk"}
    assert "isGroup" not in stored["conversation"]
    surrogate = stored_reference(ConversationReference(user=reference.user.__class__(id="u", name="a\udfffb")))
    assert surrogate["user"]["name"] == "a\ufffdb"


def test_a_stored_document_of_any_shape_reads_as_the_known_fields() -> None:
    assert reference_from_document(None) == {} and reference_from_document(["a"]) == {}
    document = {"conversation": {"id": "a:1", "properties": TAGS, "isGroup": 1}, "user": "29:u",
                "bot": {"properties": TAGS}, "serviceUrl": {"py/b64": 1}, "channelId": "msteams", "relatesTo": {}}
    assert reference_from_document(document) == {"conversation": {"id": "a:1"}, "channelId": "msteams"}


def test_tickets_and_queues_store_and_read_only_the_known_reference() -> None:
    tagged = {"conversation": {"id": "a:1", "properties": TAGS}, "serviceUrl": "https://smba.example/", "x": TAGS}
    ticket = Ticket(number=1, user=Person("29:u", "Admin"), conversation=tagged, locale="sv-SE", questions=("q",))
    known = {"conversation": {"id": "a:1"}, "serviceUrl": "https://smba.example/"}
    document = ticket_to_document(ticket)
    assert document["conversation"] == known
    assert ticket_from_document({**document, "conversation": tagged}).conversation == known
    queue = Queue(channel_id="19:c@thread.tacv2", name="Support", reference=tagged)
    assert _to_document(queue)["reference"] == known
    assert _from_document({**_to_document(queue), "reference": tagged}).reference == known
