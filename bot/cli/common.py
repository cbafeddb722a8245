"""What several commands share: the settings, the knowledge engine they answer from, and the error they stop with."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeAlias

from bot.cli.progress import ProgressBar

if TYPE_CHECKING:
    from bot.settings import Settings
    from knowledge.engine import KnowledgeEngine

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns, each command module's ``register`` adds to (argparse names it privately)."""


class CommandError(Exception):
    """A command cannot do what it was asked: ``main`` prints ``error: <message>`` and exits 2."""


def settings() -> Settings:
    """The settings from the environment (and ``.env``); a setting that cannot work is a ``CommandError``."""
    from bot.settings import Settings

    try:
        return Settings.from_env()
    except ValueError as e:
        raise CommandError(str(e)) from None


def add_cache_option(parser: argparse.ArgumentParser) -> None:
    """``--no-cache``: load the knowledge base from its files, neither reading nor writing ``KB_CACHE_DIR``."""
    parser.add_argument("--no-cache", action="store_true",
                        help="load the knowledge base from its files, bypassing KB_CACHE_DIR")


def kb_folders(kb: Sequence[str] | None, config: Settings) -> list[str | Path]:
    """The folders a command loads: ``--kb`` folders, else what the server loads (``KB_PATH``, else the bundled
    articles, then the texts agents added in ``KB_LEARNED_PATH``)."""
    from bot.settings import knowledge_folders

    return list(kb) if kb else list(knowledge_folders(config))


def cache_dir(config: Settings, no_cache: bool) -> str | None:
    """Where the parsed and indexed knowledge base is kept: ``KB_CACHE_DIR`` (as ``serve`` uses it), unless
    ``--no-cache`` or an empty ``KB_CACHE_DIR``."""
    return None if no_cache else config.kb_cache_dir


def load_engine(kb: Sequence[str] | None, err: TextIO, *, no_cache: bool = False) -> KnowledgeEngine:
    """The engine over ``--kb`` folders, else the server's folders (``kb_folders``): from the cache when it is
    fresh, else loaded with a progress bar on ``err`` (a terminal only) and cached."""
    from knowledge.engine import KnowledgeEngine

    config = settings()
    with ProgressBar(err) as bar:
        return KnowledgeEngine.load(kb_folders(kb, config), progress=bar, cache_dir=cache_dir(config, no_cache))
