"""The command line, one module per command: ``python -m bot serve | chat | ask | kb ... | report``.

``main`` (in ``bot.cli.main``) wires each command module's parser; a command module holds ``register``
(its arguments) and ``run`` (what it does).
"""

from bot.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
