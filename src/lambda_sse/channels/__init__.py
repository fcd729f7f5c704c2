"""lambda_sse.channels: named, ordered, resumable event logs that any process can publish to
and any number of subscribers follow, across Lambda instances and reconnects.

    channel = open_channel("job-42")              # URL from LAMBDA_SSE_CHANNELS_URL
    event_id = await channel.publish(ServerSentEvent("50%", event="progress"))
    await channel.end()
    async for event in channel.subscribe(last_event_id):   # replay, then follow
        ...

``EventSourceResponse(channel.subscribe)`` serves a channel with resume from ``Last-Event-ID``.
Backends by URL: ``sqlite:///PATH`` (default, standard library), ``memory://`` (standard library),
``redis://`` / ``rediss://`` (redis-py, extra ``lambda-sse[redis]``), ``dynamodb://TABLE``
(boto3, extra ``lambda-sse[dynamodb]``). See docs/channels.md.
"""

from __future__ import annotations

from lambda_sse.channels.backend import Backend, Entry, Record, Retention
from lambda_sse.channels.channel import (
    Channel,
    close_backends,
    close_backends_async,
    open_channel,
)
from lambda_sse.channels.core import GAP_EVENT
from lambda_sse.channels.urls import ENV_VAR

__all__ = [
    "ENV_VAR",
    "GAP_EVENT",
    "Backend",
    "Channel",
    "Entry",
    "Record",
    "Retention",
    "close_backends",
    "close_backends_async",
    "open_channel",
]
