"""Docs that cannot drift: generated pages are current, every command has help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from whatworks.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_generated_pages_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_generated_vocab_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_vocab.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert (
        "Usage: main " + command in result.output
        or f"Usage: whatworks {command}" in result.output
        or "Usage:" in result.output
    )
    assert (ROOT / "docs" / "cli.md").read_text().count(f"## whatworks {command}\n") == 1


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:25])
    assert "make run" in first_screen and "make test" in first_screen
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_sheet_column_is_documented() -> None:
    from whatworks.ingest.coding_sheet import SHEETS

    page = (ROOT / "docs" / "coding-sheet.md").read_text()
    for sheet in SHEETS:
        assert f"\n## {sheet.name}\n" in page
        for col in sheet.columns:
            assert f"| `{col.name}` |" in page
