"""Check that a Mermaid diagram names only things that exist in the code.

What a diagram may name, and where the truth comes from:
- dbt models and seeds (`stg_`/`cln_`/`fct_`/`dim_`/`mart_` identifiers, ER entities, table
  cylinders): file names under dbt_project/models and dbt_project/seeds;
- tables (`landing.market_ticks`, `lake.market_ticks`, `forecast.forecast_prices`,
  `marts.mart_price_24h`, ER entities, `[(cylinder)]` nodes): extract/landing/schema.py, dbt
  sources and models;
- ER attributes: the documented columns of that model (its `columns:` in the models YAML) or of
  the landing table;
- connection events, written `event_type=a|b`: extract/landing/schema.py CONNECTION_EVENT_TYPES;
- CLI options (`--hours`): argparse `add_argument("--...")` in extract/, forecasting/, tools/
  (flags built from data: the module's `build_parser()`), or an option of the dbt CLI;
- Python modules and files (`extract.collector.supervisor`, `extract/export/cli.py`, also
  `module.name` for a name defined in that module): the files in the repo;
- any other identifier with an underscore or in CamelCase (`max_forward_fill_s`, `watch_tickers`,
  `WorkerSupervisor`): some code file (Python, dbt SQL/YAML/CSV, Superset config, Makefile) must
  contain it.
- a number right after a dbt var or collector option (`bin_seconds 60`, `retry_budget = 10`): its
  default in dbt_project.yml / CollectorConfig (ambiguous names are skipped).
Diagram conventions that follow: node ids carry no underscore (`W1`, `orch`), a `[(cylinder)]`
is a table or a file path, and `%%` comments are not checked.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from extract.collector.config import CollectorConfig
from extract.landing.schema import TABLES

REPO = Path(__file__).resolve().parents[2]
PYTHON_PACKAGES = ("extract", "forecasting", "tools", "superset_config", "bench")
OPTION_SOURCES = ("extract", "forecasting", "tools")
REPO_PATH_ROOTS = (*PYTHON_PACKAGES, "dbt_project", "docs", "diagrams", "tests")
DBT_CODE_DIRS = ("models", "macros", "seeds", "tests", "snapshots", "analyses")
FILE_SUFFIXES = ("sqlite", "db", "duckdb", "parquet", "json", "yml", "yaml", "csv", "md", "zip")

MODEL_NAME = re.compile(r"\b(?:stg|cln|fct|dim|mart)_[a-z0-9_]*[a-z0-9]")
IDENTIFIER_WITH_UNDERSCORE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")
CAMEL_CASE_IDENTIFIER = re.compile(r"\b[A-Za-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+\b")
MERMAID_KEYWORDS = frozenset(
    ("stateDiagram", "sequenceDiagram", "erDiagram", "classDiagram", "classDef", "linkStyle")
)
ANY_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CLI_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9]+(?:-[a-z0-9]+)*(?![\w>-])")
EVENT_TYPES = re.compile(r"\bevent_type\s*=\s*([a-z_]+(?:\|[a-z_]+)*)")
LINE_BREAK = re.compile(r"<br\s*/?>", re.I)
REPO_PATH = re.compile(rf"(?<![\w./-])((?:{'|'.join(REPO_PATH_ROOTS)})/[\w./*<>{{}}-]*)", re.ASCII)
ANY_PATH = re.compile(r"[\w.<>*{}-]*/[\w./<>*{}-]*")
DOTTED_MODULE = re.compile(rf"\b(?:{'|'.join(PYTHON_PACKAGES)})(?:\.[A-Za-z_]\w*)+")
QUALIFIED_NAME = re.compile(r"\b([a-z_]+)\.([a-z_][a-z0-9_]*)\b")
CYLINDER = re.compile(r"\[\(\s*\"?([^\"\)\]]+?)\"?\s*\)\]")
ER_ENTITY_BLOCK = re.compile(r"^\s*\"?([A-Za-z_][\w.-]*)\"?\s*\{\s*$")
ER_RELATION = re.compile(
    r"^\s*\"?([A-Za-z_][\w.-]*)\"?\s+\S*(?:--|\.\.)\S*\s+\"?([A-Za-z_][\w.-]*)\"?\s*:"
)
ER_ATTRIBUTE = re.compile(r"^\s*([A-Za-z][\w()\[\],]*)\s+([A-Za-z_]\w*)")
QUOTED_DEFAULT = re.compile(
    r"\b([a-z][a-z0-9_]*_[a-z0-9_]+)\s*[=:]?\s+([0-9]+(?:\.[0-9]+)?)\b(?!\s*[*/+-])"
)
STYLING_LINE = re.compile(r"^\s*(?:classDef|class|style|linkStyle|click)\b")


@dataclass(frozen=True)
class Finding:
    diagram: str
    line: int
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.diagram}:{self.line}: {self.kind} {self.name!r} does not exist in the code"


@dataclass(frozen=True)
class Vocabulary:
    models: frozenset[str]
    dbt_schemas: frozenset[str]
    sources: Mapping[str, frozenset[str]]
    landing_tables: Mapping[str, frozenset[str]]
    model_columns: Mapping[str, frozenset[str]]
    event_types: frozenset[str]
    cli_options: frozenset[str]
    code_identifiers: frozenset[str]
    defaults: Mapping[str, float]

    def is_table(self, name: str) -> bool:
        return (
            name in self.models
            or name in self.landing_tables
            or any(name in tables for tables in self.sources.values())
        )

    def table_columns(self, table: str) -> frozenset[str]:
        return self.landing_tables.get(table) or self.model_columns.get(table, frozenset())


def python_files(repo: Path, package: str) -> Iterator[Path]:
    """The package's own Python files (tools/mermaid/node_modules ships some: not ours)."""
    for path in sorted((repo / package).rglob("*.py")):
        if "node_modules" not in path.relative_to(repo).parts:
            yield path


def code_files(repo: Path) -> Iterator[Path]:
    for package in ("extract", "forecasting", "tools", "bench"):
        yield from python_files(repo, package)
    for suffix in ("py", "yaml", "yml", "json"):
        yield from (repo / "superset_config").rglob(f"*.{suffix}")
    for folder in DBT_CODE_DIRS:
        for suffix in ("sql", "yml", "csv"):
            yield from (repo / "dbt_project" / folder).rglob(f"*.{suffix}")
    yield repo / "dbt_project" / "dbt_project.yml"
    yield repo / "Makefile"


def landing_tables() -> dict[str, frozenset[str]]:
    """Table -> columns, from the landing schema's declaration (extract/landing/schema.py)."""
    return {
        table: frozenset(column.name for column in columns) for table, columns in TABLES.items()
    }


def event_types(repo: Path) -> frozenset[str]:
    module = ast.parse((repo / "extract/landing/schema.py").read_text(encoding="utf-8"))
    for node in ast.walk(module):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "CONNECTION_EVENT_TYPES"
            and node.value is not None
        ):
            return frozenset(ast.literal_eval(node.value))
    raise AssertionError("CONNECTION_EVENT_TYPES not found in extract/landing/schema.py")


def argparse_options(repo: Path) -> frozenset[str]:
    """Every `--option` the CLIs in extract/, forecasting/, tools/ accept.

    Literal `add_argument("--x")` calls are read from the source. A module that builds flags
    from data (extract/collector/config.py turns its OPTIONS table into flags) is imported and
    its `build_parser()` asked, since no grep sees those flags.
    """
    options: set[str] = set()
    dynamic_modules: list[str] = []
    for package in OPTION_SOURCES:
        for path in python_files(repo, package):
            calls = [
                node
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"
            ]
            for call in calls:
                flags = [
                    arg.value
                    for arg in call.args
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                ]
                options.update(flag for flag in flags if flag.startswith("--"))
                if call.args and not isinstance(call.args[0], ast.Constant):
                    dynamic_modules.append(".".join(path.relative_to(repo).with_suffix("").parts))
    for module_name in sorted(set(dynamic_modules)):
        parser = importlib.import_module(module_name).build_parser()
        for action in parser._actions:
            options.update(flag for flag in action.option_strings if flag.startswith("--"))
    return frozenset(options)


@cache
def dbt_cli_options() -> frozenset[str]:
    """Every `--option` spelled in the installed dbt CLI's source (dbt/cli/*.py).

    Read from the source rather than by importing dbt's click tree: the same flags, without the
    seconds an import of dbt.cli.main costs.
    """
    spec = importlib.util.find_spec("dbt")
    assert spec is not None, "dbt is not installed"
    assert spec.submodule_search_locations, "dbt is not a package"
    cli_dir = Path(next(iter(spec.submodule_search_locations))) / "cli"
    options: set[str] = set()
    for path in sorted(cli_dir.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                options.update(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", node.value))
    return frozenset(options)


def dbt_yaml_documents(repo: Path) -> Iterator[dict[str, Any]]:
    for path in sorted((repo / "dbt_project" / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(document, dict):
            yield document


def dbt_sources_and_columns(
    repo: Path,
) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    sources: dict[str, set[str]] = {}
    columns: dict[str, set[str]] = {}
    for document in dbt_yaml_documents(repo):
        for source in document.get("sources") or []:
            tables = sources.setdefault(source["name"], set())
            for table in source.get("tables") or []:
                tables.add(table["name"])
                columns.setdefault(table["name"], set()).update(
                    column["name"] for column in table.get("columns") or []
                )
        for model in document.get("models") or []:
            columns.setdefault(model["name"], set()).update(
                column["name"] for column in model.get("columns") or []
            )
    return (
        {name: frozenset(tables) for name, tables in sources.items()},
        {name: frozenset(cols) for name, cols in columns.items() if cols},
    )


def numeric_defaults(repo: Path) -> dict[str, float]:
    """Default values a diagram may quote (`bin_seconds 60`): dbt vars and collector options.

    A name defined in both places with different defaults (stale_after_s) is left out: a
    number after it cannot be checked without knowing which one the diagram means.
    """
    project = yaml.safe_load((repo / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))
    found: dict[str, set[float]] = {}
    for name, value in (project.get("vars") or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            found.setdefault(name, set()).add(float(value))
    for option in fields(CollectorConfig):
        if isinstance(option.default, int | float) and not isinstance(option.default, bool):
            found.setdefault(option.name, set()).add(float(option.default))
    return {name: values.pop() for name, values in found.items() if len(values) == 1}


def load_vocabulary(repo: Path = REPO) -> Vocabulary:
    dbt = repo / "dbt_project"
    models = {path.stem for path in (dbt / "models").rglob("*.sql")}
    models |= {path.stem for path in (dbt / "seeds").rglob("*.csv")}
    models |= {path.stem for path in (dbt / "snapshots").rglob("*.sql")}
    schemas = {path.name for path in (dbt / "models").iterdir() if path.is_dir()}
    sources, columns = dbt_sources_and_columns(repo)
    identifiers: set[str] = set()
    for path in code_files(repo):
        if path.is_file():
            identifiers.update(ANY_IDENTIFIER.findall(path.read_text(encoding="utf-8")))
            identifiers.add(path.stem)
    return Vocabulary(
        models=frozenset(models),
        dbt_schemas=frozenset(schemas),
        sources=sources,
        landing_tables=landing_tables(),
        model_columns=columns,
        event_types=event_types(repo),
        cli_options=argparse_options(repo),
        code_identifiers=frozenset(identifiers),
        defaults=numeric_defaults(repo),
    )


def module_file(repo: Path, dotted: str) -> Path | None:
    base = repo.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return base if base.is_dir() else None


def defines(module: Path, name: str) -> bool:
    if module.is_dir():
        return (module / f"{name}.py").is_file() or (module / name).is_dir()
    pattern = rf"^\s*(?:(?:async\s+)?def|class)\s+{name}\b|^\s*{name}\s*[:=]"
    return re.search(pattern, module.read_text(encoding="utf-8"), re.M) is not None


def python_reference_exists(repo: Path, dotted: str) -> bool:
    """`pkg.module` or `pkg.module.name` where name is defined in pkg/module.py."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        module = module_file(repo, ".".join(parts[:split]))
        if module is not None:
            rest = parts[split:]
            return not rest or (len(rest) == 1 and defines(module, rest[0]))
    return False


def repo_path_exists(repo: Path, text: str) -> bool:
    """A repo path, where `<placeholder>` and `*` segments match anything."""
    pattern = re.sub(r"<[^>]*>", "*", text.rstrip("/.,:;"))
    if "{" in pattern:
        pattern = pattern.split("{", 1)[0].rsplit("/", 1)[0]
    return next(iter(repo.glob(pattern)), None) is not None if pattern else False


@cache
def is_runtime_path(repo: Path, text: str) -> bool:
    """A path git ignores (superset_config/home/, .env): created at run time, not in the repo."""
    completed = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", text.rstrip(".,:;")],
        cwd=repo,
        check=False,
        capture_output=True,
    )
    return completed.returncode == 0


class DiagramChecker:
    def __init__(self, vocabulary: Vocabulary, repo: Path = REPO) -> None:
        self.vocabulary = vocabulary
        self.repo = repo

    def check(self, name: str, text: str) -> list[Finding]:
        findings: list[Finding] = []
        is_er = False
        er_entity: str | None = None
        for number, raw_line in enumerate(text.splitlines(), start=1):
            line = LINE_BREAK.sub(" ", raw_line.split("%%", 1)[0])
            if not line.strip() or STYLING_LINE.match(line):
                continue
            if line.strip().startswith("erDiagram"):
                is_er = True
                continue
            problems: list[tuple[str, str]] = []
            if is_er:
                er_entity = self._check_er_line(line, er_entity, problems)
            self._check_cylinders(line, problems)
            line = self._check_paths(line, problems)
            line = self._check_modules(line, problems)
            self._check_names(line, problems)
            findings.extend(Finding(name, number, kind, item) for kind, item in problems)
        return findings

    def _check_er_line(
        self, line: str, entity: str | None, problems: list[tuple[str, str]]
    ) -> str | None:
        vocabulary = self.vocabulary
        if block := ER_ENTITY_BLOCK.match(line):
            entity = block.group(1)
            if not vocabulary.is_table(entity):
                problems.append(("ER entity (table or model)", entity))
            return entity
        if line.strip() == "}":
            return None
        if relation := ER_RELATION.match(line):
            problems.extend(
                ("ER entity (table or model)", side)
                for side in relation.groups()
                if not vocabulary.is_table(side)
            )
            return entity
        if entity is not None and (attribute := ER_ATTRIBUTE.match(line)):
            columns = vocabulary.table_columns(entity)
            if columns and attribute.group(2) not in columns:
                problems.append((f"column of {entity}", attribute.group(2)))
        return entity

    def _check_cylinders(self, line: str, problems: list[tuple[str, str]]) -> None:
        """A `[(cylinder)]` is a file (a path, or a name with a file suffix) or a table."""
        for cylinder in CYLINDER.findall(line):
            words = ANY_IDENTIFIER.findall(cylinder)
            is_file = "/" in cylinder or any(
                cylinder.endswith(f".{suffix}") for suffix in FILE_SUFFIXES
            )
            qualified = "." in cylinder  # schema.table: checked with the other qualified names
            if words and not is_file and not qualified and not self.vocabulary.is_table(words[0]):
                problems.append(("table", words[0]))

    def _check_paths(self, line: str, problems: list[tuple[str, str]]) -> str:
        for match in REPO_PATH.finditer(line):
            if not repo_path_exists(self.repo, match.group(1)) and not is_runtime_path(
                self.repo, match.group(1)
            ):
                problems.append(("repository path", match.group(1)))
        return ANY_PATH.sub(" ", line)

    def _check_modules(self, line: str, problems: list[tuple[str, str]]) -> str:
        for match in DOTTED_MODULE.finditer(line):
            if match.group(0).rsplit(".", 1)[-1] in (*FILE_SUFFIXES, "py", "sql"):
                continue  # a file name such as forecasting.md, not a module
            if not python_reference_exists(self.repo, match.group(0)):
                problems.append(("Python module or name", match.group(0)))
        return DOTTED_MODULE.sub(" ", line)

    def _check_names(self, line: str, problems: list[tuple[str, str]]) -> None:
        vocabulary = self.vocabulary
        for option in CLI_OPTION.findall(line):
            if option not in vocabulary.cli_options and option not in dbt_cli_options():
                problems.append(("CLI option", option))
        for group in EVENT_TYPES.findall(line):
            problems.extend(
                ("connection event type", event)
                for event in group.split("|")
                if event not in vocabulary.event_types
            )
        for namespace, table in QUALIFIED_NAME.findall(line):
            if namespace == "landing":
                known = table in vocabulary.landing_tables
            elif namespace in vocabulary.sources:
                known = table in vocabulary.sources[namespace]
            elif namespace in vocabulary.dbt_schemas:
                known = table in vocabulary.models
            else:
                continue
            if not known:
                problems.append((f"table in {namespace}", table))
        for name, number in QUOTED_DEFAULT.findall(line):
            default = vocabulary.defaults.get(name)
            if default is not None and float(number) != default:
                problems.append((f"default of {name} (code: {default:g})", number))
        for model in MODEL_NAME.findall(line):
            if model not in vocabulary.models:
                problems.append(("dbt model", model))
        identifiers = IDENTIFIER_WITH_UNDERSCORE.findall(line) + [
            name for name in CAMEL_CASE_IDENTIFIER.findall(line) if name not in MERMAID_KEYWORDS
        ]
        problems.extend(
            ("identifier", identifier)
            for identifier in identifiers
            if identifier not in vocabulary.code_identifiers
            and not MODEL_NAME.fullmatch(identifier)
        )
