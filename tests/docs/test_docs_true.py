"""The runbooks name only commands, options, files, models and events that exist, and their links
resolve; docs/README.md indexes every page of docs/."""

from __future__ import annotations

import re

import pytest
from diagram_truth import (
    CLI_OPTION,
    MODEL_NAME,
    REPO,
    DiagramChecker,
    Vocabulary,
    dbt_cli_options,
)

DOCS = REPO / "docs"
# The pages this suite vouches for (the other pages belong to their components' owners).
CHECKED_PAGES = ("README.md", "operations.md", "troubleshooting.md", "scaling.md")
# Pages that name other engines' functions (Spark, Trino): their code names are not ours to check.
PAGES_NAMING_OTHER_ENGINES = frozenset({"scaling.md"})
# Options of other programs the runbooks show (systemctl, sqlite3, rsync are not ours).
EXTERNAL_OPTIONS = frozenset({"--now", "--no-index"})
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
LOG_EVENT = re.compile(r"\bevent=([a-z_]+)")
ENV_OPTION = re.compile(r"\bEXTRACT_([A-Z_]+)\b")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def page_text(name: str) -> str:
    path = DOCS / name
    assert path.is_file(), f"docs/{name} is missing"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CHECKED_PAGES)
def test_links_resolve(name: str) -> None:
    broken = []
    for target in MARKDOWN_LINK.findall(page_text(name)):
        if re.match(r"^[a-z]+://", target) or target.startswith("#"):
            continue
        if not (DOCS / target.split("#", 1)[0]).exists():
            broken.append(target)
    assert not broken, f"docs/{name} links to missing files: {broken}"


@pytest.mark.parametrize("name", CHECKED_PAGES)
def test_paths_modules_and_models_exist(name: str, vocabulary: Vocabulary) -> None:
    checker = DiagramChecker(vocabulary)
    findings = []
    for number, line in enumerate(page_text(name).splitlines(), start=1):
        problems: list[tuple[str, str]] = []
        line = checker._check_paths(line, problems)
        line = checker._check_modules(line, problems)
        problems += [
            ("dbt model", m) for m in MODEL_NAME.findall(line) if m not in vocabulary.models
        ]
        findings += [f"docs/{name}:{number}: {kind} {item!r}" for kind, item in problems]
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("name", CHECKED_PAGES)
def test_options_events_and_code_names_exist(name: str, vocabulary: Vocabulary) -> None:
    text = page_text(name)
    known_options = vocabulary.cli_options | EXTERNAL_OPTIONS
    unknown_options = {
        option
        for option in CLI_OPTION.findall(text)
        if option not in known_options and option not in dbt_cli_options()
    }
    unknown_events = {
        event
        for event in LOG_EVENT.findall(text)
        if event not in vocabulary.code_identifiers and event not in vocabulary.event_types
    }
    option_names = {option.removeprefix("--").replace("-", "_") for option in known_options}
    unknown_env = {
        f"EXTRACT_{name_}"
        for name_ in ENV_OPTION.findall(text)
        if name_.lower() not in option_names
    }
    prose = FENCE.sub("", text)
    unknown_names = {
        span
        for span in INLINE_CODE.findall(prose)
        if SNAKE_CASE.match(span) and span not in vocabulary.code_identifiers
    } - ({*INLINE_CODE.findall(prose)} if name in PAGES_NAMING_OTHER_ENGINES else set())
    assert not (unknown_options | unknown_events | unknown_env | unknown_names), (
        f"docs/{name} names what the code does not have: options {sorted(unknown_options)}, "
        f"log events {sorted(unknown_events)}, environment {sorted(unknown_env)}, "
        f"names {sorted(unknown_names)}"
    )


def test_readme_indexes_every_page() -> None:
    index = page_text("README.md")
    linked = {target.split("#", 1)[0] for target in MARKDOWN_LINK.findall(index)}
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")} - {"README.md"}
    assert not pages - linked, f"docs/README.md does not link {sorted(pages - linked)}"


def test_checks_catch_a_lying_page(vocabulary: Vocabulary) -> None:
    checker = DiagramChecker(vocabulary)
    problems: list[tuple[str, str]] = []
    line = checker._check_paths("see extract/collector/no_such_file.py", problems)
    checker._check_modules("run python -m extract.collector.no_such_module", problems)
    assert ("repository path", "extract/collector/no_such_file.py") in problems
    assert ("Python module or name", "extract.collector.no_such_module") in problems
    assert "no_such_file" not in line
    assert "--no-such-flag" in CLI_OPTION.findall("make export ARGS='--no-such-flag'")
    assert "--no-such-flag" not in vocabulary.cli_options


# SQL that DuckDB runs and Spark does not (or runs differently): models and data tests call the
# engine-specific macros of dbt_project/macros/dialect.sql instead (docs/scaling.md).
DUCKDB_ONLY_SQL = {
    "arg_max / arg_min": r"\barg_(?:max|min)\s*\(",
    "struct literal {'k': v}": r"\{\s*'[a-z_]+'\s*:",
    "row(...)": r"\brow\s*\(",
    "quantile_cont": r"\bquantile_cont\s*\(",
    "generate_series / unnest": r"\b(?:generate_series|unnest)\s*\(",
    "epoch_us / epoch_ms": r"\bepoch_(?:us|ms)\s*\(",
    "to_timestamp(epoch seconds)": r"\bto_timestamp\s*\(",
    "ignore nulls": r"\bignore\s+nulls\b",
    "first(... order by ...)": r"\bfirst\s*\([^()]*\border\s+by\b",
    "to_hours / to_seconds / to_minutes": r"\bto_(?:hours|seconds|minutes|days)\s*\(",
    "strftime": r"\bstrftime\s*\(",
    "timestamptz / varchar": r"\b(?:timestamptz|varchar)\b",
    "json_extract / json_valid": r"\bjson_(?:extract\w*|valid)\s*\(",
    "string_agg": r"\bstring_agg\s*\(",
    "list functions": r"\b(?:list_\w+|string_split|array_to_string)\s*\(",
    "regexp_full_match": r"\bregexp_full_match\s*\(",
    "timezone()": r"\btimezone\s*\(",
    "integer division //": r"//",
    "not materialized": r"\bnot\s+materialized\b",
    "isinf / isfinite": r"\bis(?:inf|finite)\s*\(",
}
JINJA_OR_COMMENT = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|--[^\n]*", re.S)
MACRO_ROW = re.compile(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \|", re.M)
DBT_SQL = REPO / "dbt_project"


def duckdb_only_sql() -> dict[str, set[str]]:
    found = {}
    for path in sorted([*(DBT_SQL / "models").rglob("*.sql"), *(DBT_SQL / "tests").rglob("*.sql")]):
        sql = JINJA_OR_COMMENT.sub(" ", path.read_text(encoding="utf-8").lower())
        idioms = {name for name, pattern in DUCKDB_ONLY_SQL.items() if re.search(pattern, sql)}
        if idioms:
            found[str(path.relative_to(DBT_SQL))] = idioms
    return found


def test_models_and_data_tests_hold_no_duckdb_only_sql() -> None:
    assert duckdb_only_sql() == {}, (
        "DuckDB-only SQL in models or data tests (call a macro of macros/dialect.sql instead, "
        "or add one with a duckdb and a spark version):\n"
        + "\n".join(
            f"{path}: {', '.join(sorted(found))}" for path, found in duckdb_only_sql().items()
        )
    )


def test_the_engine_check_catches_duckdb_only_sql() -> None:
    sql = JINJA_OR_COMMENT.sub(" ", "select arg_max(a, b), epoch_us(t) // 60 -- to_hours(1)")
    found = {name for name, pattern in DUCKDB_ONLY_SQL.items() if re.search(pattern, sql)}
    assert found == {"arg_max / arg_min", "epoch_us / epoch_ms", "integer division //"}


def test_every_dialect_macro_has_a_version_per_engine() -> None:
    dialect = (DBT_SQL / "macros" / "dialect.sql").read_text(encoding="utf-8")
    defined = set(re.findall(r"\{%-?\s*macro\s+([a-z_]+)\s*\(", dialect))
    dispatched = set(re.findall(r"adapter\.dispatch\('([a-z_]+)'\)", dialect))
    assert dispatched, "no dispatched macro found in macros/dialect.sql"
    missing = {
        name: [engine for engine in ("default", "spark") if f"{engine}__{name}" not in defined]
        for name in dispatched
    }
    assert {name: engines for name, engines in missing.items() if engines} == {}


def test_scaling_names_only_existing_macros() -> None:
    section = page_text("scaling.md").split("### What differs, and where", 1)[1]
    section = section.split("###", 1)[0]
    named = {name.strip("` ") for cell in MACRO_ROW.findall(section) for name in cell.split(",")}
    macro_sql = "".join(
        path.read_text(encoding="utf-8")
        for path in (REPO / "dbt_project" / "macros").rglob("*.sql")
    )
    defined = set(re.findall(r"\{%-?\s*macro\s+([a-z_]+)\s*\(", macro_sql))
    assert named, "no macro rows found in docs/scaling.md"
    assert named <= defined, f"docs/scaling.md names macros that do not exist: {named - defined}"


def test_readme_lists_every_diagram() -> None:
    linked = set(MARKDOWN_LINK.findall(page_text("README.md")))
    diagrams = {
        f"../{path.relative_to(REPO).with_suffix('.svg')}"
        for path in (REPO / "diagrams").rglob("*.mmd")
    }
    assert not diagrams - linked, f"docs/README.md does not list {sorted(diagrams - linked)}"
