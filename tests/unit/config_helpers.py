"""Helpers shared by the configuration tests (test_config*.py)."""

from __future__ import annotations

import logging
from typing import List

import pytest

from pyredisclient.config import ConfigurationError

PW = "s3cr3t-PASSWORD-xyz"


def check_error(exc: ConfigurationError, field: str | None, *fragments: str) -> None:
    message = str(exc)
    assert exc.field == field, message
    if field is not None:
        assert field in message
    for fragment in fragments:
        assert fragment in message, message


def records(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pyredisclient"]
