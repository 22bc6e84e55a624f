"""The diagrams describe the code as it is, and `make diagrams` renders every one of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from diagram_truth import REPO, DiagramChecker, Vocabulary

from tools import diagrams

DIAGRAMS = sorted((REPO / "diagrams").rglob("*.mmd"))
DIAGRAM_IDS = [str(path.relative_to(REPO / "diagrams")) for path in DIAGRAMS]


def test_every_stage_has_diagrams() -> None:
    stages = {path.relative_to(REPO / "diagrams").parts[0] for path in DIAGRAMS}
    expected = {
        "0_overview",
        "1_ingestion",
        "2_staging",
        "3_cleansing",
        "4_core",
        "5_marts",
        "6_forecasting",
    }
    assert expected <= stages, f"stages without a diagram: {sorted(expected - stages)}"


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=DIAGRAM_IDS)
def test_diagram_names_only_what_exists(diagram: Path, checker: DiagramChecker) -> None:
    findings = checker.check(str(diagram.relative_to(REPO)), diagram.read_text(encoding="utf-8"))
    assert not findings, "\n".join(str(finding) for finding in findings)


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=DIAGRAM_IDS)
def test_diagram_has_its_rendered_svg(diagram: Path) -> None:
    svg = diagram.with_suffix(".svg")
    assert svg.is_file(), f"{svg.relative_to(REPO)} is missing: run `make diagrams`"
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg")


def test_checker_reports_every_kind_of_name_that_does_not_exist(checker: DiagramChecker) -> None:
    lying_diagram = "\n".join(
        [
            "flowchart LR",
            '    A["stg_lake__no_such_model"] --> B[(no_such_table)]',
            '    B --> C["python -m extract export --no-such-option"]',
            '    C --> D["event_type=disconnect|teleported"]',
            '    D --> E["extract/collector/no_such_module.py"]',
            '    E --> F["extract.landing.no_such_module extract.landing.schema.NO_SUCH_NAME"]',
            '    F --> G["lake.no_such_lake_table landing.no_such_landing_table"]',
            '    G --> H["no_such_identifier and WorkerSupervizor"]',
            '    H --> I["bin_seconds 61 and retry_budget = 10"]',
            "%% stg_commented_out_model is not checked",
        ]
    )
    found = {(finding.kind, finding.name) for finding in checker.check("lie.mmd", lying_diagram)}
    assert {
        ("dbt model", "stg_lake__no_such_model"),
        ("table", "no_such_table"),
        ("CLI option", "--no-such-option"),
        ("connection event type", "teleported"),
        ("repository path", "extract/collector/no_such_module.py"),
        ("Python module or name", "extract.landing.no_such_module"),
        ("Python module or name", "extract.landing.schema.NO_SUCH_NAME"),
        ("table in lake", "no_such_lake_table"),
        ("table in landing", "no_such_landing_table"),
        ("identifier", "no_such_identifier"),
        ("identifier", "WorkerSupervizor"),
        ("default of bin_seconds (code: 60)", "61"),
    } <= found
    assert not any(kind.startswith("default of retry_budget") for kind, _ in found)
    assert not any("commented" in name for _, name in found)
    assert ("connection event type", "disconnect") not in found


def test_checker_reports_er_entities_and_columns_that_do_not_exist(
    checker: DiagramChecker,
) -> None:
    er_diagram = "\n".join(
        [
            "erDiagram",
            "    market_ticks {",
            "        text ingestion_ts_utc",
            "        text no_such_column",
            "    }",
            '    market_ticks ||--o{ ghosttable : "never"',
        ]
    )
    found = {(finding.kind, finding.name) for finding in checker.check("er.mmd", er_diagram)}
    assert ("column of market_ticks", "no_such_column") in found
    assert ("ER entity (table or model)", "ghosttable") in found
    assert ("column of market_ticks", "ingestion_ts_utc") not in found


def test_vocabulary_reads_the_landing_contract(vocabulary: Vocabulary) -> None:
    assert {"market_ticks", "connection_events"} <= set(vocabulary.landing_tables)
    assert "disconnect" in vocabulary.event_types
    assert "ingestion_ts_utc" in vocabulary.landing_tables["market_ticks"]


def one_diagram_per_kind() -> list[Path]:
    """The first diagram of each Mermaid kind (flowchart, sequence, state, ER): the render test
    covers every kind in ~5 s; `make diagrams` renders all of them."""
    by_kind: dict[str, Path] = {}
    for path in DIAGRAMS:
        lines = path.read_text(encoding="utf-8").splitlines()
        kind = next(line.split()[0] for line in lines if line.strip() and not line.startswith("%%"))
        by_kind.setdefault(kind, path)
    return sorted(by_kind.values())


@pytest.mark.slow
def test_render_writes_one_svg_per_diagram(tmp_path: Path) -> None:
    sources = one_diagram_per_kind()
    assert len(sources) >= 4, "expected flowchart, sequence, state and ER diagrams"
    copies = []
    for source in sources:
        copy = tmp_path / source.relative_to(REPO / "diagrams")
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copy)
        copies.append(copy)
    diagrams.render(copies)
    rendered = sorted(tmp_path.rglob("*.svg"))
    assert [path.with_suffix(".mmd") for path in rendered] == sorted(copies)
    for svg in rendered:
        assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg"), svg


@pytest.mark.slow
def test_render_fails_loudly_on_a_broken_diagram(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mmd"
    broken.write_text("flowchart LR\n    A[[[ -->\n", encoding="utf-8")
    with pytest.raises(diagrams.DiagramError, match="failed to render"):
        diagrams.render([broken])
    assert not broken.with_suffix(".svg").exists()


@pytest.mark.slow
def test_committed_lineage_diagram_matches_the_dbt_project(tmp_path: Path) -> None:
    manifest = json.loads(diagrams.parse_dbt_project(tmp_path).read_text(encoding="utf-8"))
    committed = diagrams.LINEAGE_PATH.read_text(encoding="utf-8")
    assert committed == diagrams.lineage_mermaid(manifest), (
        "diagrams/5_marts/generated_dbt_lineage.mmd is stale: run `make diagrams`"
    )


def test_committed_dashboard_map_matches_the_superset_bundle() -> None:
    committed = diagrams.DASHBOARD_MAP_PATH.read_text(encoding="utf-8")
    assert committed == diagrams.dashboard_map_mermaid(diagrams.DASHBOARD_BUNDLE_DIR), (
        "diagrams/5_marts/generated_dashboard_map.mmd is stale: run `make diagrams`"
    )
