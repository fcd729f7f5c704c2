"""The ``lambda-sse`` command: argument parsing and wiring only.

``lambda-sse dev`` and ``lambda-sse invoke`` run the emulator (:mod:`lambda_sse.local.app`);
``lambda-sse package`` builds a deployment zip (:mod:`lambda_sse.packaging`); ``lambda-sse init``
writes a new project (:mod:`lambda_sse.scaffold`); ``publish`` and ``tail`` use a channel
(:mod:`lambda_sse.channels.cli`). Heavy modules are
imported only by the subcommand that needs them. A user mistake (a bad config, a missing file, a
busy port) prints one line and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from lambda_sse._version import __version__
from lambda_sse.errors import ConfigError

EXIT_USAGE = 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} must be more than 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0-65535)")
    return value


def _project_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="serverless.yml or template.yaml to read (default: serverless.yml when the folder "
        "has one, else template.yaml)",
    )
    parser.add_argument("--stage", help="the Serverless Framework's --stage (${opt:stage})")
    parser.add_argument("--region", help="the region (${opt:region}, AWS_REGION)")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template.yaml parameter's value (instead of its Default); repeatable",
    )
    parser.add_argument(
        "--no-limits",
        action="store_true",
        help="turn off Lambda's and API Gateway's bandwidth limits",
    )


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def _lambda_api_arguments(dev: argparse.ArgumentParser) -> None:
    """The Lambda Invoke API's options of ``dev``."""
    dev.add_argument(
        "--async-delay-scale",
        type=_non_negative_float,
        default=1.0,
        metavar="FACTOR",
        help="multiply AWS's delays between retries of Event invocations (1 min, then 2 min) "
        "by FACTOR; e.g. 0.01 retries after 0.6 s and 1.2 s (default 1: AWS's delays)",
    )


def _invoke_type_arguments(invoke: argparse.ArgumentParser) -> None:
    """The Invoke API's invocation type and log tail for ``invoke``."""
    invoke.add_argument(
        "--type",
        dest="invocation_type",
        choices=("RequestResponse", "Event", "DryRun"),
        default="RequestResponse",
        help="RequestResponse (default) prints the response; Event prints the acceptance, then "
        "waits for the run and its retries (AWS's rules); DryRun only checks the function",
    )
    invoke.add_argument(
        "--log-tail",
        action="store_true",
        help="print the last 4 KB of the invocation's log at the end (LogType Tail) instead of "
        "every log line as it comes",
    )
    _lambda_api_arguments(invoke)


def _packaging() -> ModuleType | None:
    if importlib.util.find_spec("lambda_sse.packaging") is None:
        return None
    return importlib.import_module("lambda_sse.packaging")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lambda-sse",
        description="Stream from AWS Lambda in Python; run it locally with AWS's behaviour.",
    )
    parser.add_argument("--version", action="version", version=f"lambda-sse {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    dev = commands.add_parser(
        "dev",
        help="serve the project's API Gateway routes and Function URLs locally",
        description="Serve the functions DIR/serverless.yml (or DIR/template.yaml) declares: "
        "the REST API at http://HOST:PORT/{stage}/{path}, the k-th Function URL on PORT+k.",
    )
    dev.add_argument(
        "directory", nargs="?", default=".", type=Path, metavar="DIR", help="project folder (.)"
    )
    dev.add_argument("--port", type=_port, default=3000, help="REST API port (default 3000)")
    dev.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    _project_arguments(dev)
    dev.add_argument(
        "--concurrency",
        type=_positive_int,
        metavar="N",
        help="invocations at once per environment (Lambda Managed Instances); default 1",
    )
    dev.add_argument(
        "--max-environments",
        type=_positive_int,
        metavar="N",
        help="environments (processes) one function may run at once; beyond them invocations "
        "are throttled (default: its reserved concurrency, else 32)",
    )
    dev.add_argument("--no-reload", action="store_true", help="do not watch the code for changes")
    _lambda_api_arguments(dev)
    dev.add_argument(
        "--idle-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="REST STREAM idle timeout (default from the endpoint type: EDGE 30 s, else 300 s)",
    )
    dev.add_argument(
        "--no-auth",
        action="store_true",
        help="do not check AWS_IAM signatures, API keys or Lambda authorizers (a notice says so)",
    )
    dev.add_argument(
        "--iam-key",
        action="append",
        default=[],
        metavar="KEY:SECRET[:TOKEN]",
        help="also trust these credentials on AWS_IAM Function URLs (besides yours, found by "
        "botocore, and the functions' own); repeatable",
    )
    dev.add_argument(
        "--profile", help="the AWS profile whose credentials AWS_IAM Function URLs trust"
    )
    dev.add_argument(
        "--channels-url",
        metavar="URL",
        help="LAMBDA_SSE_CHANNELS_URL for every function, over its config (default: the config's, "
        "else sqlite under DIR/.lambda-sse/)",
    )

    invoke = commands.add_parser(
        "invoke",
        help="invoke one function once and print its (streamed) response",
        description="Invoke FUNCTION once with the JSON event from --event (default {}) and "
        "write the response bytes to stdout as they arrive.",
    )
    invoke.add_argument("function", metavar="FUNCTION")
    invoke.add_argument(
        "directory", nargs="?", default=".", type=Path, metavar="DIR", help="project folder (.)"
    )
    invoke.add_argument("--event", metavar="FILE", help="JSON event file, or - for stdin")
    _invoke_type_arguments(invoke)
    _project_arguments(invoke)

    from lambda_sse.channels import cli as channels_cli

    channels_cli.add_commands(commands)

    packaging = _packaging()
    if packaging is not None:
        package = commands.add_parser("package", help="build a deployable Lambda zip")
        packaging.add_arguments(package)
    from lambda_sse import scaffold

    init = commands.add_parser("init", help="write a working project to start from")
    scaffold.add_arguments(init)
    return parser


def _options(args: argparse.Namespace) -> dict[str, str]:
    options: dict[str, str] = {}
    if args.stage:
        options["stage"] = args.stage
    if args.region:
        options["region"] = args.region
    for item in args.parameter:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--parameter {item!r}: write NAME=VALUE", key="--parameter")
        options[f"Parameter.{name}"] = value
    return options


def _channels_url(url: str | None) -> str | None:
    """Check --channels-url now: a bad URL is a usage error, not a failure in every function."""
    if url is None:
        return None
    from lambda_sse.channels.urls import parse_url

    parse_url(url)
    return url


def _run(args: argparse.Namespace) -> int:
    from lambda_sse.local.app import DevOptions, InvokeOptions, run_dev, run_invoke

    if args.command == "dev":
        return asyncio.run(
            run_dev(
                DevOptions(
                    directory=args.directory,
                    config=args.config,
                    host=args.host,
                    port=args.port,
                    limits=not args.no_limits,
                    concurrency=args.concurrency,
                    max_environments=args.max_environments,
                    reload=not args.no_reload,
                    idle_timeout=args.idle_timeout,
                    options=_options(args),
                    auth=not args.no_auth,
                    iam_keys=tuple(args.iam_key),
                    profile=args.profile,
                    channels_url=_channels_url(args.channels_url),
                    async_delay_scale=args.async_delay_scale,
                )
            )
        )
    return asyncio.run(
        run_invoke(
            InvokeOptions(
                function=args.function,
                directory=args.directory,
                config=args.config,
                event=args.event,
                limits=not args.no_limits,
                options=_options(args),
                invocation_type=args.invocation_type,
                log_tail=args.log_tail,
                async_delay_scale=args.async_delay_scale,
            )
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "init":
        from lambda_sse import scaffold

        return scaffold.run(args)
    if args.command in ("publish", "tail"):
        from lambda_sse.channels import cli as channels_cli

        return channels_cli.run(args)
    if args.command == "package":
        packaging = _packaging()
        assert packaging is not None
        result: int = packaging.run(args)
        return result
    try:
        return _run(args)
    except ConfigError as exc:
        print(f"lambda-sse {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
