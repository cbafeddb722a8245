"""Ticket values: allowed state changes, who may do what, and the storage form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.escalation.tickets import (
    ALLOWED,
    Line,
    NotYourTicket,
    Person,
    Role,
    Ticket,
    TicketClosed,
    TicketError,
    TicketState,
    TicketTaken,
    ticket_from_document,
    ticket_to_document,
)

ANNA = Person("29:anna", "Anna")
BO = Person("29:bo", "Bo")
AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def ticket(state: TicketState = TicketState.WAITING, assignee: Person | None = None) -> Ticket:
    return Ticket(number=7, user=Person("29:user", "Admin"), conversation={"conversation": {"id": "a:1"}},
                  locale="sv-SE", questions=("Ett fel uppstod",), created=AT, updated=AT, state=state,
                  assignee=assignee)


def test_the_happy_path_waiting_assigned_resolved_reopened() -> None:
    taken = ticket().take(ANNA, AT)
    assert taken.state is TicketState.ASSIGNED and taken.assignee == ANNA
    resolved = taken.resolve(ANNA, AT)
    assert resolved.state is TicketState.RESOLVED and not resolved.is_open
    reopened = resolved.reopen(AT)
    assert reopened.state is TicketState.REOPENED and reopened.assignee is None and reopened.is_open
    assert reopened.take(BO, AT).assignee == BO


def test_a_second_take_is_refused_with_the_owner_and_the_same_agent_keeps_it() -> None:
    taken = ticket().take(ANNA, AT)
    with pytest.raises(TicketTaken) as refused:
        taken.take(BO, AT)
    assert refused.value.ticket.assignee == ANNA
    assert taken.take(ANNA, AT) is taken


def test_only_the_owner_resolves_an_assigned_ticket_anyone_a_waiting_one() -> None:
    with pytest.raises(NotYourTicket):
        ticket().take(ANNA, AT).resolve(BO, AT)
    assert ticket().resolve(BO, AT).assignee == BO


@pytest.mark.parametrize("state", [TicketState.RESOLVED, TicketState.CANCELLED])
def test_closed_tickets_refuse_take_resolve_and_cancel(state: TicketState) -> None:
    closed = ticket(state, ANNA)
    with pytest.raises(TicketClosed):
        closed.take(BO)
    with pytest.raises(TicketClosed):
        closed.resolve(ANNA)
    with pytest.raises(TicketClosed):
        closed.cancel()


def test_cancelled_is_final_and_waiting_cannot_be_reopened() -> None:
    assert ALLOWED[TicketState.CANCELLED] == frozenset()
    with pytest.raises(TicketClosed):
        ticket(TicketState.CANCELLED).reopen()
    with pytest.raises(TicketError):
        ticket().reopen()


def test_storage_form_round_trips_and_keeps_every_line() -> None:
    t = ticket().take(ANNA, AT)
    for n in range(500):
        t = t.with_line(Line(Role.AGENT if n % 2 else Role.USER, "x", f"line {n} " + "é" * 10, AT))
    doc = ticket_to_document(t)
    assert ticket_from_document(doc) == t
    assert len(ticket_from_document(doc).transcript) == 500


def test_a_very_long_line_is_capped() -> None:
    assert len(Line(Role.USER, "u", "x" * 100_000).text) == 4000
