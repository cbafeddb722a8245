"""What several commands share: the settings, the knowledge engine they answer from, and the error they stop with."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO, TypeAlias

from bot.cli.progress import progress_bar

if TYPE_CHECKING:
    from bot.settings import Settings
    from knowledge.engine import KnowledgeEngine

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns, each command module's ``register`` adds to (argparse names it privately)."""


def settings() -> Settings:
    """The settings from the environment (and ``.env``)."""
    from bot.settings import Settings

    return Settings.from_env()


def load_engine(kb: Sequence[str] | None, err: TextIO) -> KnowledgeEngine:
    """The engine over ``--kb`` folders, else ``KB_PATH``, else the bundled articles."""
    from knowledge.engine import KnowledgeEngine

    folders = list(kb) if kb else list(settings().kb_paths)
    return KnowledgeEngine.load(folders, progress=progress_bar(err))
