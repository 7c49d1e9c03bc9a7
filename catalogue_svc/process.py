"""What this process is for, as the ``flask`` CLI says: the embedded job thread (``jobs``) and the
private metrics listener (``ops.metrics``) start only in a process that serves."""

from __future__ import annotations

import click
from flask.helpers import get_debug_flag
from werkzeug.serving import is_running_from_reloader


def serving_command() -> bool | None:
    """None outside the ``flask`` CLI; inside it, whether the command serves the app.

    The CLI loads the app before running a command (``flask load-demo``) or inside the command
    (``flask run``, ``flask shell``): the innermost click context names it. ``flask run`` with
    the reloader loads the app in a watching parent process too, which serves nothing.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    if ctx.command.name != "run":
        return False
    reload = ctx.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()
