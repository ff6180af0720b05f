"""Pub/sub commands that run on a pooled connection: PUBLISH.

Subscribing needs a connection of its own, outside the pool (DESIGN.md); the
SUBSCRIBE family is refused by execute_command.
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from .base import CommandsBase
from .types import EncodableT, KeyT


class PubSubCommands(CommandsBase):
    __slots__ = ()

    def publish(self, channel: KeyT, message: EncodableT) -> int:
        """Publish ``message`` on ``channel``; return the number of receivers."""
        return self._run(("PUBLISH", channel, message))
