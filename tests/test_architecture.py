"""The import contracts (pyproject.toml, checked by `lint-imports` in the test run) stay complete and mean it."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from import_contracts import PrivateImport, private_imports

ROOT = Path(__file__).resolve().parents[1]


def _contract(name: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["name"] == name)


def test_every_runtime_module_of_pipeline_is_kept_from_the_cli_and_the_benches() -> None:
    listed = set(_contract("the runtime never imports the command line or the benches")["source_modules"])
    runtime = {f"pipeline.{p.stem}" for p in (ROOT / "pipeline").glob("*.py") if p.stem != "__init__"}
    runtime |= {f"pipeline.{p.name}" for p in (ROOT / "pipeline").iterdir()
                if (p / "__init__.py").is_file() and p.name not in ("cli", "bench")}
    assert runtime - listed == set(), "a new runtime module of pipeline/ must join the contract's source_modules"


def test_a_private_name_imported_from_another_module_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .core import _hidden, shown\n")
    (package / "sub" / "core.py").write_text("_hidden = 1\nshown = 2\n")
    (package / "user.py").write_text("from pkg.sub.core import shown, _hidden as h, __version__\n"
                                     "from pkg.user import _own\n_own = 3\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert private_imports("pkg.user", {"pkg"}) == [PrivateImport("pkg.user", 1, "pkg.sub.core", "_hidden")]
        assert private_imports("pkg.sub", {"pkg"}) == [PrivateImport("pkg.sub", 1, "pkg.sub.core", "_hidden")]
        assert private_imports("pkg.user", {"other"}) == []
    finally:
        os.chdir(cwd)
