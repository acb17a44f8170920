"""An import-linter contract type of our own: `no_private_names` (pyproject.toml's [tool.importlinter]).

import-linter sees modules, not names: `from extractors.ofd.package import _floats` is an import of a public
module.  This contract reads the sources of the `importers` (and their sub-modules) and fails on every
`from M import _name` where M lies under one of the `imported` packages and is not the importing module
itself: a name with a leading underscore is its module's own business, and a caller that needs it needs it made
public (or moved where both can use it).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules


@dataclass(frozen=True, order=True)
class PrivateImport:
    importer: str
    line_no: int
    imported: str
    name: str


class NoPrivateNamesContract(Contract):
    type_name = "no_private_names"

    importers = fields.SetField(subfield=fields.ModuleExpressionField())
    imported = fields.SetField(subfield=fields.ModuleExpressionField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        targets = {m.name for m in module_expressions_to_modules(graph, self.imported)}  # type: ignore[arg-type]
        found: list[PrivateImport] = []
        for package in module_expressions_to_modules(graph, self.importers):  # type: ignore[arg-type]
            for module in {package.name} | graph.find_descendants(package.name):
                found += private_imports(module, targets)
        return ContractCheck(kept=not found, metadata={"found": sorted(found)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        grouped: dict[tuple[str, int, str], list[str]] = {}
        for hit in check.metadata["found"]:
            grouped.setdefault((hit.importer, hit.line_no, hit.imported), []).append(hit.name)
        for (importer, line_no, imported), names in grouped.items():
            output.print_error(f"{importer}:{line_no} imports from {imported}: {', '.join(names)}", bold=False)
        output.new_line()


def private_imports(module: str, targets: set[str]) -> list[PrivateImport]:
    """Every `from M import _x` in `module`'s source with M under one of `targets` and M not `module`."""
    path = _source(module)
    if path is None:
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        source = _absolute(module, node, is_package=path.name == "__init__.py")
        if source == module or not any(source == t or source.startswith(t + ".") for t in targets):
            continue
        out += [PrivateImport(module, node.lineno, source, alias.name) for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")]
    return out


def _source(module: str) -> Path | None:
    base = Path.cwd().joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _absolute(module: str, node: ast.ImportFrom, *, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))
