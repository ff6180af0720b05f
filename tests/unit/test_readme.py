"""The README says what the code does: every CLI command, pytest fixture, option and
environment rule it should name is there, and it carries no team-internal references."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pyredisclient import RedisConfig, pytest_plugin
from pyredisclient.integrations import pytest_topologies
from pyredisclient.integrations.cli import _SUBCOMMANDS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"# {title}\n")
    end = README.find("\n#", start + len(title) + 3)
    return README[start:end]


def test_every_cli_command_is_documented() -> None:
    cli = section("Command line")
    for name in _SUBCOMMANDS:
        assert f"| `{name}" in cli, name
    assert "--url" in cli and "--log-level" in cli


def test_every_pytest_fixture_and_option_is_documented() -> None:
    text = section("pytest")
    fixtures = [
        name
        for module in (pytest_plugin, pytest_topologies)
        for name, obj in vars(module).items()
        # pytest 8.4+ wraps a fixture in FixtureFunctionDefinition; older ones mark it
        if type(obj).__name__ == "FixtureFunctionDefinition"
        or hasattr(obj, "_pytestfixturefunction")
    ]
    assert len(fixtures) >= 8, fixtures
    for name in fixtures:
        assert f"`{name}`" in text, name
    for name in ("--pyredisclient-url", "pyredisclient_url", "--pyredisclient-allow-flushdb"):
        assert name in text, name
    assert "--redis-url" not in text.replace("its own `--redis-url`", "")


def test_every_option_is_documented() -> None:
    for field in dataclasses.fields(RedisConfig):
        assert f"`{field.name}`" in README, field.name


def test_no_internal_references() -> None:
    for pattern in (
        r"(?i)\bissues? #?\d",
        r"(?i)\bsession notes?\b",
        r"\bh\d-[a-z]",
        r"(?i)\bthe lead\b",
    ):
        found = re.findall(pattern, README)
        assert not found, (pattern, found)


@pytest.mark.parametrize("claim", ["core starts no threads", "so existing code keeps\nworking"])
def test_retired_claims_stay_retired(claim: str) -> None:
    assert claim not in README
