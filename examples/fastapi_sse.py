"""A FastAPI app that streams a Redis channel to the browser with server-sent events.

Run it::

    pip install fastapi uvicorn pyredisclient
    REDIS_URL=redis://127.0.0.1:6379/0 uvicorn examples.fastapi_sse:app

Then, in a browser console or with curl::

    new EventSource("/events/news").onmessage = (e) => console.log(e.data)
    curl -N http://127.0.0.1:8000/events/news
    curl -X POST http://127.0.0.1:8000/events/news -d 'hello'

Routes:

``GET /events/{channel}``
    A ``text/event-stream``: one ``message`` event per message published on the
    channel. Each stream subscribes on a connection of its own (``pubsub()`` of the
    lifespan's async client), which survives Redis restarts by itself: after a gap it
    sends an ``event: reconnect``, so that the page can reload what it may have missed.
    A comment line every ``KEEPALIVE_SECONDS`` keeps proxies from dropping an idle
    stream. When the browser goes away, Starlette cancels the stream and the
    subscription is closed.
``POST /events/{channel}``
    Publishes the request body; answers with the number of receivers.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator, Dict

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from pyredisclient.fastapi import AsyncRedis, lifespan

KEEPALIVE_SECONDS = 15.0


def sse_event(data: str, event: str | None = None) -> str:
    """One server-sent event: every line of ``data`` on a ``data:`` line of its own."""
    head = f"event: {event}\n" if event else ""
    lines = data.split("\n")
    return head + "".join(f"data: {line}\n" for line in lines) + "\n"


def create_app(redis_url: str | None = None, **options: Any) -> FastAPI:
    """The app; *redis_url* None reads ``REDIS_URL`` / ``REDIS_*`` at startup."""
    options.setdefault("decode_responses", True)
    app = FastAPI(title="pyredisclient SSE example", lifespan=lifespan(redis_url, **options))

    @app.get("/events/{channel}")
    async def events(channel: str, redis: AsyncRedis) -> StreamingResponse:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        # Subscribed before the response starts: what is published once the client
        # has the headers is delivered.
        await pubsub.subscribe(channel)

        async def stream() -> AsyncIterator[str]:
            async with pubsub:  # closed when the client disconnects (cancellation)
                yield ": subscribed\n\n"
                while True:
                    msg = await pubsub.get_message(timeout=KEEPALIVE_SECONDS)
                    if msg is None:
                        yield ": keep-alive\n\n"
                    elif msg["type"] == "reconnect":
                        gap = {"down_seconds": msg["data"]["down_seconds"]}
                        yield sse_event(json.dumps(gap), event="reconnect")
                    else:
                        yield sse_event(msg["data"])

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post("/events/{channel}")
    async def publish(channel: str, request: Request, redis: AsyncRedis) -> Dict[str, int]:
        body = (await request.body()).decode()
        return {"receivers": await redis.publish(channel, body)}

    return app


app = create_app()
