"""A bot that keeps one thing in botbuilder's ``UserState``, for the state stores' tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from botbuilder.core import Storage, TurnContext, UserState


def language_bot(storage: Storage, *, save_twice: bool = False) -> Callable[[TurnContext], Awaitable[None]]:
    """A bot that remembers ``/language X`` per user and otherwise says the language it remembers; with
    ``save_twice`` it saves ``X``, then ``X!`` in the same turn (as a turn that saves twice does)."""
    user_state = UserState(storage)
    language = user_state.create_property("language")

    async def logic(turn_context: TurnContext) -> None:
        text = turn_context.activity.text or ""
        if text.startswith("/language "):
            await language.set(turn_context, text.split()[1])
            if save_twice:
                await user_state.save_changes(turn_context)
                await language.set(turn_context, text.split()[1] + "!")
            await turn_context.send_activity("ok")
        else:
            await turn_context.send_activity(str(await language.get(turn_context, "none")))
        await user_state.save_changes(turn_context)

    return logic
