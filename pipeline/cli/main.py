"""The `inbound` command line.

    inbound extract FILE [--json] [--no-embedded]    one document -> contract JSON or a readable table
    inbound eval DIR [--no-embedded] [--json REPORT] score a folder against NAME.json ground truth
        [--by-family] [--holdout FAMILIES [--only-holdout|--skip-holdout]] [--calibration [--threshold T]]
    inbound bench [reading|ledger|matching|service|review|learning|load] [--quick]   medians, ratios, peak memory
    inbound train [--data DIR]... [--minutes N]      train the layout model (pipeline/training) into $INBOUND_HOME/models
    inbound demo                                     extract the demo documents in fixtures/
    inbound db upgrade|downgrade|current             the database schema (pipeline/cli/store.py)
    inbound master import FILE|DIR / export KIND     master data CSV/XLSX
    inbound export receipts --format kingdee|yonyou|json   posted receipts for the ERP
    inbound check                                    the ledger's invariants
    inbound serve | worker | ingest PATH...          the service (pipeline/cli/service.py)

Bad input never prints a traceback: one line on stderr, exit code 2 (3 for a time-out), and with --json
the contract object whose `issues` carries the stable code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from extractors.options import ReadOptions
from pipeline.bench.calibration import REVIEW_THRESHOLD
from pipeline.cli import service as cli_service, store as cli_store

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Inbound: supplier documents to goods receipts.")
app.add_typer(cli_store.db_app, name="db")
app.add_typer(cli_store.master_app, name="master")
app.add_typer(cli_store.export_app, name="export")
app.add_typer(cli_store.learned_app, name="learned")
app.command("check")(cli_store.check)
cli_service.register(app)

_DEFAULTS = ReadOptions()
EXIT_BAD_INPUT = 2
EXIT_TIMEOUT = 3


MODEL_HELP = "layout model folder voting with the rules, or 'none' for the rules alone (default: the shipped model)"


def _options(no_embedded: bool, max_pages: int, timeout_s: float, model: str = "auto") -> ReadOptions:
    return ReadOptions(use_embedded=not no_embedded, max_pages=max_pages, timeout_s=timeout_s,
                       model=model_folder(model))


def model_folder(model: str) -> str | None:
    """--model: 'none' -> None (rules alone), 'auto' -> the model shipped in the package (when it is there),
    else the folder given; a folder that cannot be loaded is an error here, where the user asked for it."""
    from extractors.layout_model import DEFAULT_MODEL_DIR, ModelError, load_model
    if model.lower() == "none":
        return None
    if model.lower() == "auto":
        return str(DEFAULT_MODEL_DIR) if (DEFAULT_MODEL_DIR / "model.onnx").exists() else None
    try:
        load_model(model)
    except ModelError as exc:
        typer.echo(f"error: --model: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    return model


@app.command()
def extract(
    file: Annotated[Path, typer.Argument(help="PDF, OFD, image, e-invoice XML or text file")],
    as_json: Annotated[bool, typer.Option("--json", help="print the contract JSON")] = False,
    no_embedded: Annotated[bool, typer.Option("--no-embedded", help="ignore embedded e-invoice XML")] = False,
    max_pages: Annotated[int, typer.Option(help="page limit")] = _DEFAULTS.max_pages,
    timeout_s: Annotated[float, typer.Option(help="time limit per document, seconds")] = _DEFAULTS.timeout_s,
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "auto",
) -> None:
    """Extract header fields and line items from one document."""
    from pipeline.bench.runner import extract_file
    if not file.is_file():
        typer.echo(f"error: {file}: no such file", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    extraction = extract_file(file, _options(no_embedded, max_pages, timeout_s, model))
    failed = [i for i in extraction.issues if i.severity == "error" and extraction.reader == "none"]
    if as_json:
        typer.echo(json.dumps(extraction.to_json(), ensure_ascii=False, indent=2))
    else:
        from pipeline.cli.show import print_extraction
        print_extraction(extraction)
    if failed:
        typer.echo(f"error: {file.name}: {failed[0].message} ({failed[0].code})", err=True)
        raise typer.Exit(EXIT_TIMEOUT if failed[0].code == "timeout" else EXIT_BAD_INPUT)


@app.command("eval")
def eval_cmd(
    folder: Annotated[Path, typer.Argument(help="folder of NAME.<ext> + NAME.json ground truth")],
    no_embedded: Annotated[bool, typer.Option("--no-embedded", help="ignore embedded e-invoice XML")] = False,
    report: Annotated[Optional[Path], typer.Option("--json", help="write the full report here")] = None,
    timeout_s: Annotated[float, typer.Option(help="time limit per document, seconds")] = _DEFAULTS.timeout_s,
    by_family: Annotated[bool, typer.Option("--by-family", help="a table per document family")] = False,
    holdout: Annotated[Optional[str], typer.Option(
        help="families held back as unseen: names or fnmatch patterns, comma-separated, or @FILE")] = None,
    only_holdout: Annotated[bool, typer.Option("--only-holdout", help="evaluate only the held-back families")] = False,
    skip_holdout: Annotated[bool, typer.Option("--skip-holdout", help="leave the held-back families out")] = False,
    calibration: Annotated[bool, typer.Option(
        "--calibration", help="confidence bucket -> share right, and the most confident wrong values")] = False,
    threshold: Annotated[float, typer.Option(
        help="review threshold: values below it are marked for review")] = REVIEW_THRESHOLD,
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "auto",
) -> None:
    """Score extraction on a folder: per-field precision/recall/F1 and the final F1 line. Families
    (pipeline/bench/families.py): --by-family, --holdout with --only-holdout / --skip-holdout; --calibration."""
    from pipeline.bench.families import Holdout
    from pipeline.bench.runner import evaluate_folder
    from pipeline.cli import show
    if not folder.is_dir():
        typer.echo(f"error: {folder}: not a folder", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        held = Holdout.parse(holdout)
    except OSError as exc:
        typer.echo(f"error: --holdout: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    if (only_holdout or skip_holdout) and not held:
        typer.echo("error: --only-holdout / --skip-holdout need --holdout FAMILIES", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    if only_holdout and skip_holdout:
        typer.echo("error: --only-holdout and --skip-holdout exclude each other", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    only = True if only_holdout else False if skip_holdout else None
    result = evaluate_folder(folder, _options(no_embedded, _DEFAULTS.max_pages, timeout_s, model), held, only)
    show.print_report(result)
    if by_family:
        show.print_families(result)
    if held:
        show.print_holdout(result)
    if calibration:
        scopes = [("unseen families", result.side(True)), ("seen families", result.side(False))] if held else \
            [("all documents", result)]
        for title, part in scopes:
            if part.docs:
                show.print_calibration(title, part.calibration(threshold))
    if report is not None:
        report.write_text(json.dumps(result.to_json(threshold), ensure_ascii=False, indent=2), encoding="utf-8")
    if by_family or held or calibration:
        typer.echo(f"straight-through: {show.straight_through_text(result)}")
    typer.echo(result.summary_line())


@app.command()
def train(
    data: Annotated[Optional[list[Path]], typer.Option(
        "--data", help="a folder of NAME.<ext> + NAME.json (generated, weakly labelled or confirmed documents, scans); "
                       "repeatable; added to the generated default set")] = None,
    minutes: Annotated[float, typer.Option(help="training time budget")] = 15.0,
    seed: Annotated[int, typer.Option(help="random seed (data order, initial weights)")] = 0,
    out: Annotated[Optional[Path], typer.Option(help="the model folder (default $INBOUND_HOME/models/<time>)")] = None,
    base: Annotated[Optional[Path], typer.Option("--from", help="continue from this model's weights")] = None,
    count: Annotated[int, typer.Option(help="documents in the generated default set (0: leave it out)")] = 1500,
    confirmed: Annotated[bool, typer.Option(
        help="also the documents confirmed in this service's database ($INBOUND_HOME / INBOUND_DATABASE_URL)")] = True,
) -> None:
    """Train the layout model on a versioned dataset; prints the model folder and its validation figures."""
    try:
        from pipeline.training.dataset import default_docs, folder_docs
        from pipeline.training.train import train_model
    except ImportError as exc:
        typer.echo(f"error: training needs torch and transformers ({exc.name} is not installed): "
                   "pip install -c constraints.txt -e '.[train]'", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    from pipeline.config import get_settings
    home = Path(get_settings().home)
    for folder in data or []:
        if not folder.is_dir():
            typer.echo(f"error: --data {folder}: not a folder", err=True)
            raise typer.Exit(EXIT_BAD_INPUT)
    docs = default_docs(home, count) if count > 0 else []
    docs += [d for folder in data or [] for d in folder_docs(folder)]
    if confirmed:
        found, left_out = _confirmed_docs()
        if found or left_out:
            typer.echo(f"confirmed documents: {len(found)}" + "".join(f", {k} {v}" for k, v in left_out.items()))
        docs += found
    if not docs:
        typer.echo("error: nothing to train on (--count 0 and no --data)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    if base is not None:
        model_folder(str(base))
    result = train_model(docs, home=home, out_dir=out, minutes=minutes, seed=seed, init_from=base)
    typer.echo(f"model: {result.model_dir}")
    typer.echo(f"data version: {result.data_version}  code version: {result.code_version}")
    if result.skipped:
        typer.echo("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(result.skipped.items())))
    typer.echo(json.dumps(result.metrics, indent=1))


def _confirmed_docs() -> tuple[list, dict]:
    """The service's confirmed documents (pipeline.retrain), where a database is there to ask; none otherwise."""
    from pipeline.config import get_settings
    settings = get_settings()
    if not settings.database_url and not (Path(settings.home) / "inbound.db").exists():
        return [], {}
    from sqlalchemy.exc import SQLAlchemyError

    from pipeline.retrain import confirmed_training_docs
    from pipeline.runtime import build_services
    services = build_services(settings)
    try:
        with services.factory() as session:
            return confirmed_training_docs(session, services.blobs)
    except SQLAlchemyError as exc:
        typer.echo(f"note: no confirmed documents read from the database ({type(exc).__name__})", err=True)
        return [], {}
    finally:
        services.engine.dispose()


BENCH_SUITES = ("reading", "ledger", "matching", "service", "review", "learning", "load")


@app.command()
def bench(
    suite: Annotated[str, typer.Argument(
        help="reading (default), ledger, matching, service, review, learning or load")] = "reading",
    quick: Annotated[bool, typer.Option(help="fewer documents and rounds")] = False,
    realdocs: Annotated[Optional[Path], typer.Option(help="the realdocs folder")] = None,
    report: Annotated[Optional[Path], typer.Option("--json", help="write the figures here")] = None,
) -> None:
    """Benchmarks. reading: medians per page, text layer vs bare pypdfium2, OCR vs bare rapidocr, CER, memory.
    ledger: posting rate and stock queries. matching: accuracy, learning curve, ms per line. service: throughput
    and API latency. review: keys and seconds in a browser to confirm or fix a document, 5-page screen load.
    learning: a reviewer's edits per document along each supplier's sequence, through the REST API.
    load: 1,000 uploads at 20/s and 200 e-mails while a reviewer confirms; nothing lost or posted twice."""
    if suite not in BENCH_SUITES:
        typer.echo(f"error: unknown bench suite {suite!r} (one of {', '.join(BENCH_SUITES)})", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    from extractors.errors import InboundError
    try:
        if suite == "reading":
            from pipeline.bench.reading import run_bench
            figures = run_bench(realdocs=realdocs, quick=quick)
        else:
            import importlib
            figures = importlib.import_module(f"pipeline.bench.{suite}").run_bench(quick=quick)
    except InboundError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    if report is not None:
        report.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")


@app.command()
def demo() -> None:
    """Extract every demo document in fixtures/demo and print what was found."""
    from pipeline.bench.runner import extract_file
    from pipeline.cli.show import print_extraction
    folder = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in {".pdf", ".png", ".jpg", ".ofd", ".xml", ".txt"}:
            typer.echo(f"\n=== {path.name}")
            print_extraction(extract_file(path, ReadOptions()))


def main() -> None:
    from pipeline.logs import configure
    configure()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
