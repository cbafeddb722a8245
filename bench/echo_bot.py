"""The canonical botbuilder echo bot, the baseline of the throughput benchmark.

    python -m bench.echo_bot --port 3979 [--connector botbuilder|reuse]

Shaped like the BotBuilder-Samples ``02.echo-bot`` (Python): a ``CloudAdapter`` with
``ConfigurationBotFrameworkAuthentication`` from empty credentials, an ``ActivityHandler`` that
replies "Echo: <text>", ``POST /api/messages`` behind ``aiohttp_error_middleware``.
``--connector reuse`` swaps in Insight Desk's connector reuse (``bot.channel.connector``) and changes
nothing else, so the benchmark can show what that alone is worth.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
from botbuilder.core.integration import aiohttp_error_middleware
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botframework.connector.auth import BotFrameworkAuthentication


class DefaultConfig:
    """The sample's configuration: empty credentials, so authentication is off."""

    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


class EchoBot(ActivityHandler):
    """Replies with the text it received."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))


async def on_error(context: TurnContext, error: Exception) -> None:
    """The sample's turn-error hook: print the error and tell the user."""
    print(f"\n [on_turn_error] unhandled error: {error}", file=sys.stderr)
    traceback.print_exc()
    await context.send_activity("The bot encountered an error or bug.")


def create_app(connector: str = "botbuilder") -> web.Application:
    """The echo bot's aiohttp app; ``connector="reuse"`` uses ``bot.channel.connector``'s client reuse."""
    config = DefaultConfig()
    auth: BotFrameworkAuthentication
    if connector == "reuse":
        from bot.channel.connector import create_bot_authentication

        reusing = create_bot_authentication(config)
        auth = reusing

        async def close_connectors(app: web.Application) -> None:
            await reusing.close()

        cleanup = [close_connectors]
    else:
        auth = ConfigurationBotFrameworkAuthentication(config)
        cleanup = []
    adapter = CloudAdapter(auth)
    adapter.on_turn_error = on_error
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        response = await adapter.process(request, bot)
        return response if response is not None else web.Response(status=201)

    app = web.Application(middlewares=[aiohttp_error_middleware])
    app.router.add_post("/api/messages", messages)
    app.on_cleanup.extend(cleanup)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_bot", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3978)
    parser.add_argument("--connector", choices=("botbuilder", "reuse"), default="botbuilder")
    args = parser.parse_args(argv)
    web.run_app(create_app(args.connector), host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
