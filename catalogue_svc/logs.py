"""Structured logs (one JSON object a line) carrying the request id or the job id."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time

from flask import Flask, Response, g, request

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Terminal colours (werkzeug's dev server colours its request lines): noise inside JSON.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line; CR/LF in messages cannot forge another line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": _ANSI.sub("", record.getMessage()),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        jid = job_id_var.get()
        if jid:
            entry["job_id"] = jid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # json.dumps escapes control characters, so one record is always one line.
        return json.dumps(entry, ensure_ascii=False, default=str)


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def configure(level: str = "INFO") -> None:
    """Install the JSON handler on the root logger once, at ``level`` (the setting
    ``CATALOGUE_LOG_LEVEL``, checked by ``config.load_settings``)."""
    root = logging.getLogger()
    if any(getattr(h, "_catalogue", False) for h in root.handlers):
        return
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._catalogue = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # The state machine library logs every callback of every transition at INFO: the service's
    # own history and audit lines already say what moved.
    logging.getLogger("transitions").setLevel(max(logging.WARNING, root.level))


def init_app(app: Flask) -> None:
    """Give every HTTP request an id, echoed in ``X-Request-Id`` and on each log line."""
    if not app.testing:
        configure(app.config["CATALOGUE_SETTINGS"].log_level)

    @app.before_request
    def _assign_request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if _SAFE_REQUEST_ID.match(incoming) else secrets.token_hex(8)
        g.request_id = rid
        g.request_id_token = request_id_var.set(rid)

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-Id"] = rid
        return response

    @app.teardown_request
    def _clear_request_id(exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)
