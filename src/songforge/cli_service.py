"""The service commands: `songforge serve | worker | keys ... | jobs ...`.

The main CLI attaches them with :func:`register`. Settings come from SONGFORGE_* variables and
the SONGFORGE_CONFIG file; options given here override both."""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from songforge.errors import SongforgeError
from songforge.settings import Settings

err = Console(stderr=True)
out = Console()

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect and cancel jobs in the local store.", no_args_is_help=True)

DataDir = Annotated[
    str | None, typer.Option("--data-dir", help="Jobs and songs live here [SONGFORGE_DATA_DIR]")
]
Generator = Annotated[
    str | None,
    typer.Option(
        "--generator",
        help="providers (default: the provider layer), engine, or tone (instant fake for demos)",
    ),
]


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except SongforgeError as exc:
        _fail(exc.message)
    except ValueError as exc:
        _fail(f"bad settings: {exc}")


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _short(ts: float | None) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts is not None else ""


def _export(settings: Settings, overrides: dict[str, Any]) -> None:
    """Hand command-line overrides to uvicorn's worker processes through the environment."""
    for name, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list | tuple):
            text = ",".join(str(v) for v in value)
        else:
            text = str(value)
        os.environ[f"SONGFORGE_{name.upper()}"] = text
    os.environ.setdefault("SONGFORGE_DATA_DIR", str(settings.data_dir))


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [SONGFORGE_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [SONGFORGE_PORT]")] = None,
    data_dir: DataDir = None,
    workers: Annotated[
        int | None, typer.Option(help="Job workers beside the API (0: none) [SONGFORGE_WORKERS]")
    ] = None,
    worker_mode: Annotated[
        str | None, typer.Option(help="process or thread [SONGFORGE_WORKER_MODE]")
    ] = None,
    api_processes: Annotated[
        int | None,
        typer.Option(
            "--api-processes",
            "--api-workers",
            help="API processes sharing the port (SQLite WAL readers run in parallel); 2 on a "
            "2-core machine [SONGFORGE_API_PROCESSES]",
        ),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="No API keys: one local user; loopback hosts only")
    ] = False,
    generator: Generator = None,
    access_log: Annotated[bool, typer.Option(help="Log every request")] = True,
) -> None:
    """Run the API, the web page and job workers on one machine."""
    import uvicorn

    from songforge.api.app import create_app
    from songforge.service.logs import configure_logging
    from songforge.service.runtime import (
        API_PROCESS_NAME,
        Background,
        build_service,
        name_process,
        open_backends,
    )

    overrides = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "workers": workers,
        "worker_mode": worker_mode,
        "api_processes": api_processes,
        "auth": False if no_auth else None,
        "generator": generator,
    }
    settings = _settings(**overrides)
    if not settings.auth:
        if not _is_loopback(settings.host):
            _fail(f"--no-auth is only allowed on a loopback host, not {settings.host!r}")
        err.print(
            f"[bold yellow on red] AUTH IS OFF [/] anyone who can reach "
            f"http://{settings.host}:{settings.port} acts as the one local user (admin)."
        )
    configure_logging(settings)  # uvicorn runs with log_config=None: its logs come here too
    backends = open_backends(settings)
    if settings.auth and not backends.keys.all():
        err.print("[yellow]No API keys yet:[/] create one with `songforge keys create --name NAME`")
    threads = settings.workers if settings.worker_mode == "thread" else 0
    processes = settings.workers if settings.worker_mode == "process" else 0
    background = Background(settings, backends, worker_threads=threads, worker_processes=processes)
    err.print(
        f"songforge on http://{settings.host}:{settings.port} · data {settings.data_dir} · "
        f"{settings.workers} {settings.worker_mode} worker(s) · generator {settings.generator}"
    )
    if settings.api_processes == 1:
        name_process(API_PROCESS_NAME)
        app = create_app(
            build_service(settings, backends),
            background=background,
            max_body_bytes=settings.max_body_bytes,
        )
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            access_log=access_log,
            log_config=None,
        )
        return
    _export(settings, overrides)
    background.start()
    try:
        uvicorn.run(
            "songforge.api.app:app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.api_processes,
            access_log=access_log,
            log_config=None,  # each API process configures logging in app_from_env
        )
    finally:
        background.stop()


def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Jobs at once")] = 1,
    data_dir: DataDir = None,
    generator: Generator = None,
) -> None:
    """Run job workers against the same data dir as `serve` (until Ctrl-C or SIGTERM)."""
    from songforge.service.logs import configure_logging
    from songforge.service.runtime import become_worker_process, run_worker

    settings = _settings(data_dir=data_dir, generator=generator)
    become_worker_process(settings)
    configure_logging(settings)
    err.print(f"worker ×{concurrency} on {settings.data_dir} (generator {settings.generator})")
    run_worker(settings, concurrency)


# --- keys ----------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who the key is for")],
    admin: Annotated[bool, typer.Option(help="May read usage of all keys")] = False,
    data_dir: DataDir = None,
) -> None:
    """Make a key; it is printed once, alone on the last line."""
    from songforge.service.keys import new_key
    from songforge.service.runtime import open_backends

    backends = open_backends(_settings(data_dir=data_dir))
    token, record = new_key(name, admin=admin)
    backends.keys.add(record)
    err.print(f"created {record.prefix} for {name!r}{' (admin)' if admin else ''}; "
              "store it now, it is not shown again:")  # fmt: skip
    print(token)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """Every key: id prefix, name, admin, created, revoked (never the secret)."""
    from songforge.service.runtime import open_backends

    table = Table("prefix", "name", "admin", "created", "revoked")
    for key in open_backends(_settings(data_dir=data_dir)).keys.all():
        table.add_row(
            key.prefix, key.name, "yes" if key.admin else "", _short(key.created_at),
            _short(key.revoked_at) or "no",
        )  # fmt: skip
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's prefix (sfk_xxxxxxxxxx) or id")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key at once; its jobs stay."""
    from songforge.service.keys import TOKEN_PREFIX
    from songforge.service.runtime import open_backends

    key_id = key.removeprefix(TOKEN_PREFIX).split("_")[0]
    try:
        record = open_backends(_settings(data_dir=data_dir)).keys.revoke(key_id)
    except SongforgeError as exc:
        _fail(exc.message, 1)
    err.print(f"revoked {record.prefix} ({record.name})")


# --- jobs ----------------------------------------------------------------------------------


@jobs_app.command("list")
def jobs_list(
    owner: Annotated[str | None, typer.Option(help="A key id (default: every key)")] = None,
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded, ...")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
    data_dir: DataDir = None,
) -> None:
    """The newest jobs in the store."""
    from songforge.jobs.model import JobStatus
    from songforge.service.runtime import open_backends

    backends = open_backends(_settings(data_dir=data_dir))
    try:
        statuses = [JobStatus(s) for s in status.split(",")] if status else None
    except ValueError:
        _fail(f"unknown status in {status!r}")
    owners = [owner] if owner else ["local", *(k.id for k in backends.keys.all())]
    jobs = [j for o in owners for j in backends.store.list_jobs(o, statuses=statuses, limit=limit)]
    jobs.sort(key=lambda j: (j.created_at, j.id), reverse=True)
    if as_json:
        from songforge.service.views import job_view

        for job in jobs[:limit]:
            print(json.dumps({**job_view(job), "owner": job.owner}))
        return
    table = Table("id", "owner", "status", "progress", "stage", "created", "prompt")
    table.columns[0].no_wrap = True
    for job in jobs[:limit]:
        table.add_row(
            job.id, job.owner, job.status.value, f"{job.progress:.0f}%", job.stage or "",
            _short(job.created_at), job.request.prompt[:40],
        )  # fmt: skip
    out.print(table)


@jobs_app.command("show")
def jobs_show(job_id: str, data_dir: DataDir = None) -> None:
    """One job as JSON, with its attempts and webhook deliveries."""
    from songforge.service.runtime import open_backends
    from songforge.service.views import iso, job_view, webhook_attempt_view

    backends = open_backends(_settings(data_dir=data_dir))
    job = backends.store.get(job_id)
    if job is None:
        _fail(f"no job {job_id}", 1)
    view = job_view(job)
    view["owner"] = job.owner
    view["attempts"] = [
        {"attempt": a.attempt, "worker_id": a.worker_id, "started_at": iso(a.started_at),
         "ended_at": iso(a.ended_at), "outcome": a.outcome.value,
         "error": a.error.to_dict() if a.error else None}
        for a in backends.store.attempts(job_id)
    ]  # fmt: skip
    view["webhook_attempts"] = [
        webhook_attempt_view(a) for a in backends.store.webhook_attempts(job_id)
    ]
    out.print_json(json.dumps(view))


@jobs_app.command("cancel")
def jobs_cancel(job_id: str, data_dir: DataDir = None) -> None:
    """Cancel a queued job now, or a running one at its next stage boundary."""
    from songforge.service.runtime import open_backends

    backends = open_backends(_settings(data_dir=data_dir))
    job = backends.store.request_cancel(job_id)
    if job is None:
        _fail(f"no job {job_id}", 1)
    if job.status.terminal:
        err.print(f"job {job_id} is {job.status.value}")
    else:
        err.print(f"job {job_id} will stop at its next stage boundary")


def register(app: typer.Typer) -> None:
    """Attach serve, worker, keys and jobs to the main `songforge` app."""
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.add_typer(keys_app, name="keys")
    app.add_typer(jobs_app, name="jobs")


def main() -> None:
    """Run the service commands alone (``python -m songforge.cli_service``)."""
    standalone = typer.Typer(name="songforge", no_args_is_help=True, add_completion=False)
    register(standalone)
    standalone()


if __name__ == "__main__":
    main()
