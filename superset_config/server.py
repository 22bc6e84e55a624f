"""Drive Superset (in its own venv) from the ETL venv: initialise, import, serve.

Every call is a subprocess of ``.venv-superset`` with the environment from
:class:`SupersetSettings`; this module never imports Superset.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from superset_config.bundle import build_bundle
from superset_config.settings import CONFIG_DIR, SupersetSettings

CLI_BATCH_SCRIPT = CONFIG_DIR / "cli_batch.py"
BUNDLE_FILE_NAME = "dashboards_bundle.zip"
CLI_TIMEOUT_S = 600.0
OUTPUT_TAIL_LINES = 30


class SupersetCommandError(RuntimeError):
    """A Superset CLI call failed; the message carries the end of its output."""


# Metadata DB migrations, then roles and permissions.
INITIALISE_COMMANDS = (("db", "upgrade"), ("init",))


def admin_commands(settings: SupersetSettings) -> list[list[str]]:
    """The admin user (its password read from stdin); a no-op when it already exists."""
    return [
        [
            "fab",
            "create-admin",
            "--username",
            settings.admin_username,
            "--firstname",
            "Warehouse",
            "--lastname",
            "Admin",
            "--email",
            f"{settings.admin_username}@localhost.localdomain",
        ]
    ]


def import_commands(settings: SupersetSettings, bundle: Path) -> list[list[str]]:
    """Datasets, charts and dashboards, each overwritten by UUID (cli_batch's import-bundle)."""
    return [["import-bundle", "-p", str(bundle), "-u", settings.admin_username]]


def setup_commands(settings: SupersetSettings, initialise: bool = True) -> list[list[str]]:
    """Everything `make dashboard` runs: initialise, admin user, import of the YAML bundle.

    The bundle is zipped now, pointing at the serving file; the import does not need that file
    to exist yet.
    """
    bundle = build_bundle(settings.home / BUNDLE_FILE_NAME, settings.serving_path)
    initialising = [list(command) for command in INITIALISE_COMMANDS] if initialise else []
    return [*initialising, *admin_commands(settings), *import_commands(settings, bundle)]


def password_stdin(settings: SupersetSettings) -> str:
    """create-admin prompts for the password twice; it never appears on a command line."""
    return f"{settings.admin_password}\n{settings.admin_password}\n"


def check_admin_output(settings: SupersetSettings, output: str) -> bool:
    """True when the admin was created now; False when it already existed; raise otherwise."""
    if f"Admin User {settings.admin_username} created" in output:
        return True
    if "already exists" in output:
        return False
    raise SupersetCommandError(f"creating the admin user failed:\n{output[-2000:]}")


def start_commands(
    settings: SupersetSettings, commands: Sequence[Sequence[str]]
) -> subprocess.Popen[bytes]:
    """Start ``superset <command>`` for each command, in one background Superset process.

    Pair with :func:`finish_commands`. Output goes to ``<home>/superset-setup.log`` (a pipe
    could fill up and stall the process); stdin carries the admin password for create-admin.
    """
    with setup_log_path(settings).open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(settings.python_bin),
                str(CLI_BATCH_SCRIPT),
                json.dumps([list(c) for c in commands]),
            ],
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=settings.process_env(),
            cwd=settings.home,
        )
    assert process.stdin is not None
    process.stdin.write(password_stdin(settings).encode())
    process.stdin.close()
    return process


def finish_commands(
    settings: SupersetSettings, process: subprocess.Popen[bytes], timeout_s: float = CLI_TIMEOUT_S
) -> str:
    """Wait for :func:`start_commands`; return the output, raise if a command failed."""
    process.wait(timeout=timeout_s)
    output = setup_log_path(settings).read_text(encoding="utf-8", errors="replace")
    if process.returncode != 0:
        tail = "\n".join(output.splitlines()[-OUTPUT_TAIL_LINES:])
        raise SupersetCommandError(f"superset exited with {process.returncode}:\n{tail}")
    return output


def setup_all(settings: SupersetSettings) -> bool:
    """Run :func:`setup_commands` and wait; True when the admin user was created now."""
    output = finish_commands(settings, start_commands(settings, setup_commands(settings)))
    return check_admin_output(settings, output)


def setup_log_path(settings: SupersetSettings) -> Path:
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings.home / "superset-setup.log"


def gunicorn_command(settings: SupersetSettings, host: str, port: int, workers: int) -> list[str]:
    return [
        str(settings.gunicorn_bin),
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--timeout",
        "120",
        "--limit-request-line",
        "0",
        "--limit-request-field_size",
        "0",
        "superset.app:create_app()",
    ]


def start_server(
    settings: SupersetSettings, host: str, port: int, workers: int = 2, log_path: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start gunicorn serving Superset in the background; pair with :func:`wait_until_healthy`."""
    settings.home.mkdir(parents=True, exist_ok=True)
    log_file = (log_path or settings.home / "superset-server.log").open("ab")
    try:
        return subprocess.Popen(
            gunicorn_command(settings, host, port, workers),
            env=settings.process_env(),
            cwd=settings.home,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    finally:
        log_file.close()


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[bytes], timeout_s: float = 120.0
) -> None:
    """Poll ``/health`` until it answers OK; fail fast when the server process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SupersetCommandError(f"Superset exited with {process.returncode} at start-up")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SupersetCommandError(f"Superset did not become healthy at {base_url} in {timeout_s} s")


def stop_server(process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
