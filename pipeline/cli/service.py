"""CLI commands of the running service: `inbound serve`, `inbound worker`, `inbound ingest`.

    inbound serve [--host H] [--port P]     API (+ review screen) and an in-process pipeline on the embedded
                                            defaults; INBOUND_BROKER_URL: documents go to Celery workers instead;
                                            listens on 127.0.0.1 unless --host says otherwise; refuses to start
                                            with a guessable INBOUND_BOOTSTRAP_API_KEY outside the demo
    inbound worker [--concurrency N]        a Celery worker for the pipeline (needs INBOUND_BROKER_URL)
    inbound ingest PATH...                  store files (folders: every supported file in them) and read them,
                                            with a progress bar

Settings are read once here (pipeline/config.py) and passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.config import get_settings

EXIT_BAD_INPUT = 2


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Run the API, the review screen and the pipeline (in-process unless INBOUND_BROKER_URL is set)."""
    import uvicorn

    from api.app import create_app
    from pipeline.service import InsecureSettings, check_settings
    settings = get_settings()
    try:
        check_settings(settings)
    except InsecureSettings as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if settings.demo and host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: the demo (login demo/demo, an admin) is reachable on {host}; set INBOUND_DEMO=0 "
                   "for anything but a demo on this machine", err=True)

    def announce(state) -> None:
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        lines = [f"Inbound is running at {url}  (API {url}/docs, OpenAPI {url}/openapi.json)",
                 f"  data in {settings.home.resolve()}  database {state.services.engine.dialect.name}  "
                 f"pipeline {'celery' if settings.broker_url else 'in-process'}"]
        if state.demo is not None:
            lines += [f"  review screen {url}/  demo login: {state.demo.username} / {state.demo.password}",
                      f"  demo API key: {state.demo.api_key}",
                      f"  try: curl -H 'Authorization: Bearer {state.demo.api_key}' {url}/api/v1/documents"]
        print("\n".join(lines), flush=True)

    app = create_app(settings, announce=announce)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def worker(
    concurrency: Annotated[int, typer.Option(help="worker processes")] = 2,
    loglevel: Annotated[str, typer.Option(help="Celery log level")] = "INFO",
    beat: Annotated[bool, typer.Option(help="also run the scheduler (webhook retries) in this worker")] = False,
) -> None:
    """A Celery worker running the pipeline tasks (acks late, one document at a time per process)."""
    settings = get_settings()
    if not settings.broker_url:
        typer.echo("error: set INBOUND_BROKER_URL (redis://... or amqp://...) to run a worker", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    from pipeline.celery_app import run_worker
    run_worker(settings, concurrency=concurrency, loglevel=loglevel, beat=beat)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders")],
    wait: Annotated[bool, typer.Option(help="wait until the in-process pipeline has read them")] = True,
) -> None:
    """Bulk load: every supported file is stored and queued (duplicates are reported, not stored twice)."""
    from rich.console import Console
    from rich.progress import Progress

    from extractors.errors import InboundError
    from pipeline.intake import receive
    from pipeline.service import start_service, stop_service
    files = _files(paths)
    if not files:
        typer.echo("error: no supported files in the paths given", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    settings = get_settings()
    services = start_service(settings)
    new = duplicates = failed = 0
    try:
        with Progress(console=Console(stderr=True)) as progress:
            task = progress.add_task("storing", total=len(files))
            for path in files:
                try:
                    received = receive(services, path.read_bytes(), filename=path.name, source="upload",
                                       who="ingest")
                    duplicates += received.duplicate
                    new += not received.duplicate
                except InboundError as exc:
                    failed += 1
                    progress.console.print(f"{path}: {exc.message}")
                progress.advance(task)
            if wait and not settings.broker_url:
                reading = progress.add_task("reading", total=None)
                services.dispatcher.join(timeout_s=3600)
                progress.update(reading, total=1, completed=1)
    finally:
        stop_service(services)
    typer.echo(f"{new} new, {duplicates} already known, {failed} refused")
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


def _files(paths: list[Path]) -> list[Path]:
    from pipeline.intake import supported
    out = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and supported(p.name))
        elif path.is_file():
            out.append(path)
        else:
            typer.echo(f"warning: {path}: no such file or folder", err=True)
    return out


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("ingest")(ingest)

