"""``lambda-sse publish`` and ``lambda-sse tail``: a channel from the shell.

    lambda-sse publish CHANNEL [--url URL] [--event TYPE]
                       [--data TEXT | --data-file FILE | -] [--end]
    lambda-sse tail CHANNEL [--url URL] [--last-event-id ID]

``publish`` prints the id the channel assigned (with ``--end`` and no data, the end record's);
``tail`` writes each event to stdout as SSE the moment it arrives and exits when the channel
ends. Exit status: 0, 1 when the backend is unreachable or the channel has ended, 2 for a usage
or configuration mistake, 130 on Ctrl-C. Argument parsing only here; lambda_sse.channels is
imported when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import BinaryIO, TextIO

__all__ = ["COMMANDS", "add_commands", "run"]

COMMANDS = ("publish", "tail")
EXIT_FAILED = 1
EXIT_USAGE = 2


def _url_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help="channels URL: sqlite:///PATH, redis://HOST:PORT/DB, rediss://..., memory:// "
        "(default: $LAMBDA_SSE_CHANNELS_URL, else sqlite:///.lambda-sse/channels.db)",
    )


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``publish`` and ``tail`` to the ``lambda-sse`` command's subparsers."""
    publish = commands.add_parser(
        "publish",
        help="publish one event to a channel and print its id",
        description="Append one event to CHANNEL and print the id the channel assigned. The "
        "data comes from --data, --data-file, or standard input with - (one trailing line end "
        "is dropped from a file or standard input).",
    )
    publish.add_argument("channel", metavar="CHANNEL")
    publish.add_argument(
        "stdin", nargs="?", choices=["-"], metavar="-", help="read the data from standard input"
    )
    _url_argument(publish)
    publish.add_argument("--event", metavar="TYPE", help="the event's type (SSE event: field)")
    source = publish.add_mutually_exclusive_group()
    source.add_argument("--data", metavar="TEXT", help="the event's data")
    source.add_argument("--data-file", metavar="FILE", type=Path, help="read the data from FILE")
    publish.add_argument(
        "--end",
        action="store_true",
        help="then end the channel (subscribers stop); alone, only end it",
    )

    tail = commands.add_parser(
        "tail",
        help="print a channel's events as SSE as they arrive",
        description="Replay CHANNEL's events after --last-event-id (all retained ones by "
        "default), then follow new ones, printed as text/event-stream, until the channel ends.",
    )
    tail.add_argument("channel", metavar="CHANNEL")
    _url_argument(tail)
    tail.add_argument(
        "--last-event-id", default="", metavar="ID", help="resume after this id (default: all)"
    )


def _data(args: argparse.Namespace, stdin: BinaryIO) -> str | None:
    if args.stdin == "-" and (args.data is not None or args.data_file is not None):
        raise _Usage("give the data once: --data, --data-file or -")
    if args.data is not None:
        return str(args.data)
    raw: bytes
    if args.data_file is not None:
        try:
            raw = Path(args.data_file).read_bytes()
        except OSError as exc:
            raise _Usage(f"--data-file {args.data_file}: {exc.strerror or exc}") from None
    elif args.stdin == "-":
        raw = stdin.read()
    else:
        return None
    if raw.endswith(b"\n"):  # the line end `echo` and editors add is not part of the data
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Usage("the data is not UTF-8 text (SSE carries text only)") from None


class _Usage(Exception):
    pass


def run(
    args: argparse.Namespace,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``publish`` or ``tail``; returns the exit status."""
    from lambda_sse.errors import (
        ChannelEndedError,
        ChannelUnavailableError,
        ConfigError,
        InvalidChannelNameError,
        InvalidEventError,
    )

    err = stderr or sys.stderr
    try:
        if args.command == "publish":
            return _publish(args, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)
        return _tail(args, stdout or sys.stdout.buffer)
    except (_Usage, ConfigError, InvalidChannelNameError, InvalidEventError) as exc:
        print(f"lambda-sse {args.command}: error: {exc}", file=err)
        return EXIT_USAGE
    except (ChannelUnavailableError, ChannelEndedError) as exc:
        print(f"lambda-sse {args.command}: error: {exc}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    finally:
        from lambda_sse.channels import close_backends

        close_backends()


def _publish(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    from lambda_sse.channels import open_channel
    from lambda_sse.sse import ServerSentEvent

    data = _data(args, stdin)
    if data is None and args.event is None and not args.end:
        raise _Usage("nothing to publish: give --data TEXT, --data-file FILE, - or --end")
    channel = open_channel(args.channel, args.url)
    printed = ""
    if data is not None or args.event is not None:
        printed = channel.publish_sync(ServerSentEvent(data=data, event=args.event))
    if args.end:
        end_id = channel.end_sync()
        printed = printed or end_id
    stdout.write(printed.encode() + b"\n")
    stdout.flush()
    return 0


def _tail(args: argparse.Namespace, stdout: BinaryIO) -> int:
    from lambda_sse.channels import open_channel

    channel = open_channel(args.channel, args.url)
    events = channel.subscribe_sync(args.last_event_id)
    try:
        for event in events:
            stdout.write(event.encode())
            stdout.flush()
    except BrokenPipeError:  # `lambda-sse tail ... | head`
        return 0
    finally:
        events.close()
    return 0
