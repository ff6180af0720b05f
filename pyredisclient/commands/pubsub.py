"""Pub/sub commands that run on a pooled connection: PUBLISH, SPUBLISH, PUBSUB.

Subscribing needs a connection of its own, outside the pool: ``client.pubsub()``
(:mod:`pyredisclient.pubsub`); the SUBSCRIBE family is refused by execute_command.
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, List, Tuple

from .base import CommandsBase, plain_command
from .callbacks import pairs_to_tuples
from .types import EncodableT, KeyT, PatternT


class PubSubCommands(CommandsBase):
    __slots__ = ()

    @plain_command
    def publish(self, channel: KeyT, message: EncodableT) -> int:
        """Publish ``message`` on ``channel``; return the number of receivers."""
        return self._run(("PUBLISH", channel, message))

    @plain_command
    def spublish(self, shard_channel: KeyT, message: EncodableT) -> int:
        """Publish ``message`` on a shard channel (Redis 7); the number of receivers."""
        return self._run(("SPUBLISH", shard_channel, message))

    def pubsub_channels(self, pattern: PatternT = "*") -> List[Any]:
        """The channels with at least one subscriber, matching ``pattern``."""
        return self._run(("PUBSUB", "CHANNELS", pattern))

    def pubsub_numsub(self, *args: KeyT) -> List[Tuple[Any, int]]:
        """``(channel, subscribers)`` for each channel given (patterns excluded)."""
        return self._run(("PUBSUB", "NUMSUB", *args), pairs_to_tuples)

    @plain_command
    def pubsub_numpat(self) -> int:
        """The number of pattern subscriptions of all clients."""
        return self._run(("PUBSUB", "NUMPAT"))

    def pubsub_shardchannels(self, pattern: PatternT = "*") -> List[Any]:
        """The shard channels with at least one subscriber, matching ``pattern``."""
        return self._run(("PUBSUB", "SHARDCHANNELS", pattern))

    def pubsub_shardnumsub(self, *args: KeyT) -> List[Tuple[Any, int]]:
        """``(shard channel, subscribers)`` for each shard channel given."""
        return self._run(("PUBSUB", "SHARDNUMSUB", *args), pairs_to_tuples)
