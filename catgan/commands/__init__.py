"""The client commands of `catgan`: they talk to a running API over HTTP (see catgan.commands.common).

Loaded when first named: the API and worker images have no requests or tqdm, and `catgan worker` should not
pay for importing them.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

CLIENT_COMMANDS = {
    "datasets": "catgan.commands.resources:datasets",
    "train": "catgan.commands.jobs:train",
    "generate": "catgan.commands.jobs:generate",
    "jobs": "catgan.commands.jobs:jobs",
    "watch": "catgan.commands.jobs:watch",
    "download": "catgan.commands.jobs:download",
    "cancel": "catgan.commands.jobs:cancel",
    "resume": "catgan.commands.jobs:resume",
    "models": "catgan.commands.resources:models",
    "label": "catgan.commands.resources:label",
    "tensorboard": "catgan.commands.tensorboard:tensorboard",
    "bench": "catgan.commands.bench:bench",  # runs `python -m bench` of the source checkout
}


class CatganGroup(click.Group):
    """The `catgan` group: its own commands, plus the client commands imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(CLIENT_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in CLIENT_COMMANDS:
            return command
        module, _, name = CLIENT_COMMANDS[cmd_name].partition(":")
        try:
            loaded: Any = getattr(importlib.import_module(module), name)
        except ImportError:  # a server image without the client extra: the command is not there
            return None
        return loaded
