"""A bare asyncio TCP relay, ``python bench/_relay.py LISTEN_PORT UPSTREAM_PORT`` (loopback):
bytes from each side are written to the other as they come, nothing else. bench_local.py puts
it in front of uvicorn to measure what one more asyncio process on the path costs by itself,
the floor under the emulator's own hop (runtime -> emulator -> client)."""

from __future__ import annotations

import asyncio
import contextlib
import sys


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", int(sys.argv[2]))
    await asyncio.gather(
        _pump(reader, upstream_writer), _pump(upstream_reader, writer), return_exceptions=True
    )


async def _main() -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
