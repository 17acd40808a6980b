"""The README documents every setting and every command."""
from pathlib import Path

import click

from listening.cli import cli
from listening.settings import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def command_paths(group: click.Group, prefix: str = "chorus") -> list[str]:
    """List every command of a click group as it is typed, e.g. 'chorus user add'."""
    paths = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += command_paths(command, f"{prefix} {name}")
        else:
            paths.append(f"{prefix} {name}")
    return paths


def test_every_setting_is_documented():
    """Each setting's environment variable appears in the README."""
    assert [s.env for s in SETTINGS if f"`{s.env}`" not in README] == []


def test_every_command_is_documented():
    """Each `chorus` command appears in the README."""
    assert [path for path in command_paths(cli) if f"`{path}" not in README] == []


def test_readme_opens_with_the_two_commands():
    """The README's first two code blocks install-and-demo and install-and-test."""
    blocks = README.split("```bash\n")[1:3]
    first, second = (block.split("\n```")[0].strip() for block in blocks)
    assert first.endswith("chorus demo") and "pip install -e ." in first
    assert second.endswith("pytest") and '".[test]"' in second
