"""Real servers for the tests, started on loopback in a temporary folder: PostgreSQL, Redis, SMTP."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class ServerUnavailable(Exception):
    """A server the tests need cannot be started here."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerUnavailable(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster."""

    root: Path
    port: int
    proc_dir: Path = field(init=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    @classmethod
    def start(cls, *, options: str = "") -> Postgres:
        """A new cluster on a free loopback port; ``options``: more ``-c name=value`` settings
        (a benchmark loads ``pg_stat_statements`` with them)."""
        initdb = PG_BIN / "initdb"
        if not initdb.exists():
            raise ServerUnavailable(f"{initdb} not found")
        root = Path(tempfile.mkdtemp(prefix="catalogue-pg-"))
        data = root / "data"
        user_args: list[str] = []
        preexec = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: run it as nobody-like 'postgres' if it exists.
            import pwd

            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ServerUnavailable("running as root and no 'postgres' user") from exc
            shutil.chown(root, pw.pw_uid, pw.pw_gid)

            def preexec() -> None:  # type: ignore[misc]
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)

        run = {"check": True, "capture_output": True, "preexec_fn": preexec}
        subprocess.run(
            [
                str(initdb),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                *user_args,
            ],
            **run,
        )  # type: ignore[call-overload]
        port = free_port()
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections=200 -c shared_buffers=128MB {options}"
        )
        subprocess.run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ],
            **run,
        )  # type: ignore[call-overload]
        _wait_port(port)
        server = cls(root=root, port=port)
        server._preexec = preexec  # type: ignore[attr-defined]
        return server

    def stop(self) -> None:
        subprocess.run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            preexec_fn=self._preexec,
        )  # type: ignore[attr-defined]
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class RedisServer:
    """A throwaway redis-server (append-only, no eviction, as production wants)."""

    port: int
    proc: subprocess.Popen[bytes]
    root: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls) -> RedisServer:
        root = Path(tempfile.mkdtemp(prefix="catalogue-redis-"))
        port = free_port()
        return cls(port=port, proc=cls._spawn(root, port), root=root)

    @staticmethod
    def _spawn(root: Path, port: int) -> subprocess.Popen[bytes]:
        binary = shutil.which("redis-server")
        if not binary:
            raise ServerUnavailable("redis-server not installed")
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(root),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(port)
        return proc

    def crash(self) -> None:
        """SIGKILL the server and wipe its data (append-only file included): Redis is gone."""
        self.proc.kill()
        self.proc.wait()
        for path in self.root.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def start_empty(self) -> None:
        """Start the server again, empty, on the same port (after :meth:`crash`)."""
        self.proc = self._spawn(self.root, self.port)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts."""

    def __init__(self, port: int | None = None) -> None:
        self.messages: list[Message] = []
        self.peers: list[tuple[str, int]] = []  # the connection each message came on
        self._lock = threading.Lock()
        self.port = port or free_port()
        self.listening = False
        self.delay = 0.0  # seconds before answering each message (a slow server)
        self.start()

    def start(self) -> None:
        """Listen (again) on the sink's port; messages already received are kept."""
        from aiosmtpd.controller import Controller

        if self.listening:
            return
        sink = self

        class _Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                if sink.delay:
                    await asyncio.sleep(sink.delay)
                with sink._lock:
                    sink.messages.append(message)
                    sink.peers.append(tuple(session.peer))
                return "250 OK"

        self.controller = Controller(_Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.listening = True

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.peers.clear()

    def to(self, address: str) -> list[Message]:
        """Messages sent to ``address`` (case-insensitive), oldest first."""
        with self._lock:
            return [m for m in self.messages if m["To"].lower() == address.lower()]

    def message_ids(self) -> Counter[str]:
        """How many times each ``Message-ID`` was received."""
        with self._lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

    def stop(self) -> None:
        """Stop listening (connections are refused until :meth:`start`)."""
        if self.listening:
            self.controller.stop()
            self.listening = False


def body(message: Message) -> str:
    """The text body of a received message."""
    if message.is_multipart():
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                return str(
                    part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
                )
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")
