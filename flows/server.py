"""The temporary Prefect server a command starts when no `PREFECT_API_URL` names one.

Prefect starts it on first use (`prefect.server.api.server.SubprocessASGIServer`) as a plain child: killed
alone, the command left it running (a few hundred MB, for good); a terminal's Ctrl-C reached it with the
command, so the dying run could no longer report to it and looped on "Connection refused"; and a slow start
(a busy machine, two commands at once sharing one Prefect database) failed the command after Prefect's
default 20 s. `tethered_server()` starts the same server first, so Prefect reuses it (the class keeps one
instance), but:

- in a session of its own: Ctrl-C stops the command, which ends its run and then stops the server;
- with `PR_SET_PDEATHSIG` (Linux): the kernel sends it SIGTERM the moment the command dies, however it dies;
- with a start timeout of `STARTUP_TIMEOUT_S` unless `PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS` is set.

With `PREFECT_API_URL` set (a real `prefect server start`, Prefect Cloud) nothing is started here.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import Any

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, get_current_settings

STARTUP_TIMEOUT_S = 180
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """In the server's process, before it runs: SIGTERM when `parent` dies."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


class TetheredServer(SubprocessASGIServer):
    """Prefect's temporary server, started as Prefect starts it, tied to this process (module docstring)."""

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        # Prefect's own command and environment (prefect/server/api/server.py), plus the tether.
        parent = os.getpid()
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(prefect.__module_path__.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(parent),
        )


def startup_timeout() -> int:
    configured = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
    return int(configured) if configured else STARTUP_TIMEOUT_S


def tethered_server() -> str | None:
    """Start the temporary server (when no `PREFECT_API_URL` is set) and return its API URL; None when a
    server is configured. Call from the main thread: the tether follows the thread that starts it."""
    if PREFECT_API_URL.value():
        return None
    existing = SubprocessASGIServer._instances.get(None)
    if existing is not None and existing.running:
        return existing.api_url
    SubprocessASGIServer._instances.pop(None, None)  # an untethered instance that never started
    server = TetheredServer()  # registered as Prefect's default instance, so Prefect's client reuses it
    server.start(timeout=startup_timeout())
    return server.api_url
