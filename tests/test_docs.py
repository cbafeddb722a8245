"""README and deploy docs keep their promises: one settings table that lists every setting, a first screen
that says what the bundled knowledge base is, and an ``.env.example`` that matches the deploy steps."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

from bot.settings import BOT_FRAMEWORK_KEYS, Settings

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
DEPLOY_README = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
ENV_READERS = frozenset({"_number", "_flag", "_seconds"})


def settings_read() -> set[str]:
    """Every environment key ``bot/settings.py`` reads: ``env.get("K")``, ``env["K"]``, ``_flag(env, "K")``..."""
    tree = ast.parse((REPO / "bot" / "settings.py").read_text(encoding="utf-8"))
    keys: set[str] = set(BOT_FRAMEWORK_KEYS)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            key = None
            if isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Name) \
                    and func.value.id == "env":
                key = node.args[0]
            elif isinstance(func, ast.Name) and func.id in ENV_READERS:
                key = node.args[1]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                keys.add(key.value)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "env" \
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            keys.add(node.slice.value)
    return keys


def readme_table() -> set[str]:
    """The names in the first column of README's configuration table."""
    section = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Za-z_]+)`", row.split(" | ")[0])}


def test_every_setting_read_in_settings_py_is_in_readmes_table() -> None:
    read = settings_read()
    assert {"PORT", "KB_CACHE_DIR", "ESCALATION_HANDOFF", "MicrosoftAppTenantId", "CHANNEL_SERVICE"} <= read
    assert read - readme_table() == set()


def test_deploy_readme_links_to_the_one_settings_table_instead_of_its_own() -> None:
    assert "../README.md#configuration" in DEPLOY_README
    assert not re.search(r"^\| `(KB_PATH|HOST|PORT)` \|", DEPLOY_README, re.MULTILINE)


def test_env_example_registers_new_bots_as_single_tenant_and_runs_locally_as_copied(tmp_path: Path) -> None:
    example = REPO / "deploy" / ".env.example"
    assert re.search(r"^MicrosoftAppType=SingleTenant$", example.read_text(encoding="utf-8"), re.MULTILINE)
    shutil.copy(example, tmp_path / ".env")  # README's local step: copy it, fill in credentials later
    settings = Settings.from_env({}, dotenv=tmp_path / ".env")
    assert (settings.APP_TYPE, settings.authenticates) == ("SingleTenant", False)


def test_readmes_first_screen_says_what_the_bundled_kb_is_and_how_to_load_a_real_one() -> None:
    first_screen = "\n".join(README.splitlines()[:60])
    assert "one article in three languages" in first_screen
    assert "kb import" in first_screen and "KB_PATH" in first_screen
    assert "make test" in first_screen and "make run" in first_screen
