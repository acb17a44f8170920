"""CLI commands on the database: `inbound db ...`, `inbound master ...`, `inbound export receipts`, `inbound check`.

    inbound db upgrade [REVISION]                 bring the database to the newest schema (or REVISION)
    inbound db downgrade REVISION                 take it back ("base" empties it)
    inbound db current                            the revision it is at
    inbound master import FILE|DIR [--kind K]     CSV/XLSX master data; a folder imports its files in order
    inbound master export KIND [-o FILE]          products | suppliers | supplier_products | purchase_orders
    inbound export receipts --format kingdee|yonyou|json [--xlsx] [-o FILE]
    inbound check                                 run the ledger invariants
    inbound learned list [--kind K] [--supplier-id N] [--json]   facts in force (aliases, factors, hints)
    inbound learned forget ID                     take one out of force (kept as history)

The database is INBOUND_DATABASE_URL, else the SQLite file under INBOUND_HOME.  User errors print one line
on stderr and exit 2.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from pipeline.config import get_settings

EXIT_BAD_INPUT = 2
MASTER_ORDER = ("suppliers", "products", "supplier_products", "purchase_orders")
MASTER_SUFFIXES = {".csv", ".xlsx"}

db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
master_app = typer.Typer(no_args_is_help=True, help="Master data: import and export CSV/XLSX.")
export_app = typer.Typer(no_args_is_help=True, help="Posted receipts for other systems.")
learned_app = typer.Typer(no_args_is_help=True, help="What the matcher learned from corrections (admin).")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _url() -> str:
    return get_settings().db_url


def _factory():
    """A session factory on a database at the newest schema; an empty database is brought there first."""
    from models.db import current_revision, make_engine, session_factory, upgrade
    from models.errors import InboundError
    from sqlalchemy.exc import OperationalError
    url = _url()
    try:
        revision = current_revision(url)
        if revision is None:
            upgrade(url)
        elif revision != _head():
            raise _fail(f"the database is at revision {revision}, not the newest; run `inbound db upgrade`")
    except (OperationalError, InboundError) as exc:
        raise _fail(f"cannot open the database: {str(exc).splitlines()[0]}") from exc
    return session_factory(make_engine(url))


def _head() -> str:
    from alembic.script import ScriptDirectory
    from models.db import MIGRATIONS
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Bring the database to the newest schema (creates the SQLite file when needed)."""
    from models.db import current_revision, upgrade
    with _migration_errors():
        upgrade(_url(), revision)
        typer.echo(f"database at revision {current_revision(_url())}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision; base = empty")]) -> None:
    """Take the database back to REVISION."""
    from models.db import current_revision, downgrade
    with _migration_errors():
        downgrade(_url(), revision)
        typer.echo(f"database at revision {current_revision(_url())}")


@contextmanager
def _migration_errors() -> Iterator[None]:
    """An unreachable database or an unknown revision is the user's to fix: one line, exit 2."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import OperationalError
    try:
        yield
    except OperationalError as exc:
        raise _fail(f"cannot open the database: {str(exc.orig).splitlines()[0]}") from exc
    except CommandError as exc:
        raise _fail(str(exc)) from exc


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    from models.db import current_revision
    typer.echo(current_revision(_url()) or "none (empty database)")


class _RollBack(Exception):
    """Leaves a transaction block so that it rolls back."""


def _master_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise _fail(f"{path}: no such file or folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in MASTER_SUFFIXES)
    rank = {kind: i for i, kind in enumerate(MASTER_ORDER)}
    return sorted(files, key=lambda p: (rank.get(p.stem.lower(), len(rank)), p.name))


@master_app.command("import")
def master_import(
    path: Annotated[Path, typer.Argument(help="CSV or XLSX file, or a folder of them")],
    kind: Annotated[Optional[str], typer.Option(help="products | suppliers | supplier_products | purchase_orders")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Import master data, all rows of all files or none; errors listed by file, row and column."""
    from models.db import transaction
    from models.errors import MasterImportError
    from models.master_io import KINDS, import_master
    if kind is not None and kind not in KINDS:
        raise _fail(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    files = _master_files(path)
    reports = {}
    factory = _factory()
    try:
        with transaction(factory) as session:
            for file in files:
                reports[file.name] = import_master(session, file.read_bytes(), kind=kind)
            if any(not r.ok for r in reports.values()):
                raise _RollBack()
    except _RollBack:
        pass
    except MasterImportError as exc:
        raise _fail(f"{file.name}: {exc.message}") from exc
    _print_reports(reports, as_json)
    if any(not r.ok for r in reports.values()):
        raise _fail("nothing was imported; fix the rows above and run again")


def _print_reports(reports: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({name: r.to_json() for name, r in reports.items()}, ensure_ascii=False, indent=2))
        return
    for name, report in reports.items():
        status = "ok" if report.ok else f"{len(report.errors)} error(s)"
        typer.echo(f"{name}: {report.kind}, {report.rows} rows, {report.created} created, "
                   f"{report.updated} updated, {status}")
        for error in report.errors:
            typer.echo(f"  row {error.row}, column {error.column or '-'}: {error.reason}")


@master_app.command("export")
def master_export(
    kind: Annotated[str, typer.Argument(help="products | suppliers | supplier_products | purchase_orders")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="file (.csv or .xlsx); else stdout")] = None,
) -> None:
    """Export one kind of master data in the import layout."""
    from models.db import transaction
    from models.master_export import export_master
    from models.master_io import KINDS
    if kind not in KINDS:
        raise _fail(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    fmt = "xlsx" if output is not None and output.suffix.lower() == ".xlsx" else "csv"
    with transaction(_factory()) as session:
        data = export_master(session, kind, fmt=fmt)
    _write(data, output)


@export_app.command("receipts")
def export_receipts_cmd(
    fmt: Annotated[str, typer.Option("--format", help="kingdee | yonyou | json")] = "json",
    xlsx: Annotated[bool, typer.Option("--xlsx", help="an XLSX sheet instead of CSV (kingdee, yonyou)")] = False,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="file; else stdout")] = None,
) -> None:
    """Posted receipts (and reversals, as red-letter lines) for Kingdee, Yonyou or as JSON."""
    from models.db import transaction
    from models.exports import FORMATS, export_receipts
    if fmt not in FORMATS:
        raise _fail(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if xlsx and output is None:
        raise _fail("an XLSX export needs -o FILE")
    with transaction(_factory()) as session:
        data = export_receipts(session, fmt=fmt, file_type="xlsx" if xlsx else "csv")
    _write(data, output)


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        typer.echo(f"wrote {output} ({len(data)} bytes)", err=True)


def check() -> None:
    """Run the ledger's invariants; exit 1 when any fails."""
    from models.db import transaction
    from models.invariants import CHECKS, check_ledger
    with transaction(_factory()) as session:
        problems = check_ledger(session)
    for problem in problems:
        typer.echo(f"{problem.check}: {problem.message}")
    typer.echo(f"{len(CHECKS)} checks, {len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)


@learned_app.command("list")
def learned_list(
    kind: Annotated[Optional[str], typer.Option(help="supplier_alias | product_alias | unit_factor | layout_hint | layout_rule")] = None,
    supplier_id: Annotated[Optional[int], typer.Option(help="only this supplier's")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
) -> None:
    """The learned facts in force, oldest first."""
    from models.db import transaction
    from models.learned import KINDS, current_facts
    if kind is not None and kind not in KINDS:
        raise _fail(f"--kind must be one of {', '.join(KINDS)}")
    with transaction(_factory()) as session:
        facts = current_facts(session, kind=kind, supplier_id=supplier_id)
    for f in facts:
        row = {"id": f.id, "kind": f.kind, "supplier_id": f.supplier_id, "key": f.key, "target_id": f.target_id,
               "factor": None if f.factor is None else str(f.factor), "payload": f.payload,
               "created_at": f.created_at.isoformat(), "created_by": f.created_by}
        if as_json:
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            typer.echo(f"{f.id:>6}  {f.kind:<14} supplier={f.supplier_id} {f.key!r} -> {f.target_id}"
                       f"{'' if f.factor is None else f' x{f.factor}'} {f.payload or ''} ({f.created_by})")
    typer.echo(f"{len(facts)} fact(s)", err=True)


@learned_app.command("forget")
def learned_forget(fact_id: Annotated[int, typer.Argument(help="the fact's id (inbound learned list)")]) -> None:
    """Take a learned fact out of force; it stays in the history."""
    from models.db import transaction
    from models.errors import NotFound
    from models.learned import forget
    try:
        with transaction(_factory()) as session:
            forget(session, fact_id)
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"forgot learned fact {fact_id}")
