"""What every client command shares: --url/--token/--json, the client it makes, output, errors and exit codes.

Exit codes (README "Using it from the command line"):
  0 ok (watch: the job succeeded)     1 the job failed     2 the job was cancelled
  3 the API answered with an error    4 the service could not be reached    64 usage error (bad options)
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click

from catgan.client import CatganApiError, CatganClient, CatganConnectionError

EXIT_FAILED, EXIT_CANCELLED, EXIT_API, EXIT_CONNECTION, EXIT_USAGE = 1, 2, 3, 4, 64
JOB_EXIT = {"succeeded": 0, "failed": EXIT_FAILED, "cancelled": EXIT_CANCELLED}
DEFAULT_URL = "http://127.0.0.1:8000"
LOCAL_KEY_FILE = "api-key"  # catgan.localkey.KEY_FILE; not imported: it needs the server's packages
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def fail(code: str, message: str, exit_code: int) -> NoReturn:
    """One line on stderr, `error: <code>: <message>`, and the exit code."""
    click.echo(f"error: {code}: {message}", err=True)
    sys.exit(exit_code)


class ClientCommand(click.Command):
    """A command whose usage errors, API errors and connection errors each end as one line and their own code."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            fail("usage", exc.format_message(), EXIT_USAGE)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            fail("usage", exc.format_message(), EXIT_USAGE)
        except CatganApiError as exc:
            fail(exc.code, exc.message + _fields(exc), EXIT_API)
        except CatganConnectionError as exc:
            fail("connection_error", str(exc), EXIT_CONNECTION)


class ClientGroup(click.Group):
    """A group of client commands: an unknown subcommand is a usage error like any other."""

    command_class = ClientCommand

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            fail("usage", exc.format_message(), EXIT_USAGE)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            fail("usage", exc.format_message(), EXIT_USAGE)


def _fields(exc: CatganApiError) -> str:
    if not exc.fields:
        return ""
    return " (" + "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                            for k, v in exc.fields.items()) + ")"


@dataclass(frozen=True)
class Config:
    client: CatganClient
    json: bool


def client_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --url, --token and --json; the command receives `config: Config` instead."""
    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only (JSON lines for watch).")
    @click.option("--token", envvar="CATGAN_TOKEN", default=None, show_envvar=True,
                  help="API key (default: the local key of `catgan up`, for a loopback URL).")
    @click.option("--url", envvar="CATGAN_URL", default=DEFAULT_URL, show_default=True, show_envvar=True,
                  help="The catgan API.")
    @functools.wraps(command)
    def wrapper(*args: Any, url: str, token: str | None, as_json: bool, **kwargs: Any) -> Any:
        client = CatganClient(url, token=token or _local_token(url))
        return command(*args, config=Config(client, as_json), **kwargs)
    return wrapper


def _local_token(url: str) -> str | None:
    """The key `catgan up` saved under CATGAN_HOME, offered only to an API on this machine."""
    if urlsplit(url).hostname not in LOOPBACK:
        return None
    from core.settings import Settings

    try:
        path = Path(Settings().home) / LOCAL_KEY_FILE
        return (path.read_text().strip() or None) if path.is_file() else None
    except (OSError, ValueError):
        return None


def emit(config: Config, document: Any, human: Callable[[], None] | str) -> None:
    """The JSON document with --json, else the human rendering."""
    if config.json:
        click.echo(json.dumps(document, default=str))
    elif callable(human):
        human()
    else:
        click.echo(human)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """Columns padded to their widest cell."""
    cells = [[str(h) for h in headers]] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def parse_param(text: str) -> tuple[str, Any]:
    """k=v with v a JSON literal when it parses (3, 0.5, true, [1,2]), else the string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r} is not key=value", param_hint="--param")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value
