"""Staying up while Redis is not: what a caller does when calls fail.

- :mod:`.fallback`: ``with_redis_fallback``, a default instead of an error, logged with
  a rate limit and counted per function;
- :mod:`.health`: the health report (PING, INFO, an optional SET/GET/DEL round trip,
  pool and breaker state), written once for the sync and the asyncio client;
- :mod:`.monitor`: an opt-in background health monitor (one daemon thread or asyncio
  task per client) keeping the last report fresh and logging transitions.

The circuit breaker, retries and deadlines themselves live in the C core; the clients
show the breaker's state (``circuit_breaker_state()``).
"""
