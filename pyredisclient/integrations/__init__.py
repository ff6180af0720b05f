"""Where pyredisclient meets frameworks and tools, each on the public API.

- :mod:`.fastapi`: a lifespan, dependencies, health and metrics routes (imports FastAPI);
- :mod:`.django`: Django's own Redis cache backend on RedisClient (imports Django);
- :mod:`.redis_py`: ``redis.exceptions`` clauses that catch ours (imports redis-py);
- :mod:`.pytest_plugin`: fixtures with real servers (the ``pytest11`` entry point);
- :mod:`.testing`: throwaway redis-server processes for tests and benchmarks;
- :mod:`.cli`: ``python -m pyredisclient``.

Importing this package imports none of them: each pulls in its framework only when
imported itself. Their former names (``pyredisclient.fastapi``, ``.pytest_plugin``,
``.testing``) are the same modules, through compatibility modules at the package root.
"""
