"""``python -m bot serve``: the bot's HTTP endpoint (``bot.app``)."""

from __future__ import annotations

import argparse
import errno
import socket
from typing import TextIO

from bot.cli.common import CommandError, Commands, settings

LISTEN_ERRORS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})
"""Why a server cannot listen where ``HOST`` and ``PORT`` say: said in one line, not a traceback."""


def register(commands: Commands) -> None:
    """Add ``serve`` to the command parsers."""
    commands.add_parser("serve", help="run the bot's HTTP endpoint (/api/messages)").set_defaults(run=run)


def listen_problem(host: str, port: int, error: OSError) -> str:
    """One line saying why the server cannot listen on ``host``:``port`` and what to do."""
    if error.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another `python -m bot serve`?): stop that process "
                "or set PORT to a free port")
    if error.errno == errno.EACCES:
        return f"no permission to listen on port {port} on {host}: set PORT to a port above 1023"
    return f"cannot listen on {host} port {port}: {error.strerror or error}"


def check_port(host: str, port: int) -> None:
    """Bind ``host``:``port`` for a moment and let it go: a port in use or not allowed is said before the
    knowledge base loads (which may take a while). Port 0 (any free one) needs no check."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return  # the server's own bind says what is wrong with the name
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is free
            try:
                probe.bind(address)
            except OSError as e:
                if e.errno in (errno.EADDRINUSE, errno.EACCES):
                    raise CommandError(listen_problem(host, port, e)) from None


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from bot.app import run_server

    config = settings()
    check_port(config.host, config.port)
    try:
        run_server(config)
    except ValueError as e:  # a setting that cannot work (LOG_FORMAT, STATE_STORE, HOST, ...): say which
        raise CommandError(str(e)) from None
    except OSError as e:
        if e.errno not in LISTEN_ERRORS:
            raise
        # taken between the check and the server's own bind, or a HOST this machine does not have
        raise CommandError(listen_problem(config.host, config.port, e)) from None
    return 0
