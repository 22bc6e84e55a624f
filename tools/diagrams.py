"""`make diagrams`: regenerate the derived diagrams and render every Mermaid file to SVG.

Derived (never edited by hand): diagrams/5_marts/generated_dbt_lineage.mmd from the dbt manifest
(`dbt parse`) and diagrams/5_marts/generated_dashboard_map.mmd from the Superset bundle YAML.

    python -m tools.diagrams                 # regenerate the derived diagrams, then render all
    python -m tools.diagrams --lineage       # only regenerate (and render) the derived diagrams
    python -m tools.diagrams --skip-lineage  # render all, regenerating nothing
    python -m tools.diagrams FILE.mmd ...    # render just these files

Rendering uses mermaid-cli from the npm registry (installed into tools/mermaid/node_modules by
`npm ci` on first use) driving the system Chromium (/usr/bin/chromium, or $CHROMIUM_PATH) through
tools/mermaid/puppeteer-config.json: no browser is ever downloaded. All files render in one
Chromium process (tools/mermaid/render.mjs), each SVG beside its source.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DIAGRAMS_DIR = REPO / "diagrams"
MERMAID_DIR = REPO / "tools" / "mermaid"
PUPPETEER_CONFIG = MERMAID_DIR / "puppeteer-config.json"
DBT_PROJECT_DIR = REPO / "dbt_project"
LINEAGE_PATH = DIAGRAMS_DIR / "5_marts" / "generated_dbt_lineage.mmd"
DASHBOARD_BUNDLE_DIR = REPO / "superset_config" / "bundle"
DASHBOARD_MAP_PATH = DIAGRAMS_DIR / "5_marts" / "generated_dashboard_map.mmd"
NPM_INSTALL_TIMEOUT_S = 600
RENDER_TIMEOUT_S = 900

# Lineage subgraphs, in reading order: dbt resource kind or model folder -> title.
LINEAGE_GROUPS = (
    ("source", "sources"),
    ("seed", "seeds"),
    ("staging", "staging"),
    ("cleansing", "cleansing"),
    ("core", "core"),
    ("marts", "marts"),
    ("other", "other models"),
    ("exposure", "exposures (dashboards)"),
)
LINEAGE_SHAPES = {"source": ('[("', '")]'), "exposure": ('(["', '"])')}


class DiagramError(Exception):
    """A step of `make diagrams` failed; the message says what to do."""


def all_sources() -> list[Path]:
    return sorted(DIAGRAMS_DIR.rglob("*.mmd"))


def ensure_mermaid_cli() -> None:
    """Install the locked mermaid-cli into tools/mermaid/node_modules unless it is there."""
    if (MERMAID_DIR / "node_modules" / ".bin" / "mmdc").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise DiagramError("npm not found: install Node.js 20+ (apt-get install nodejs npm)")
    print("[diagrams] installing mermaid-cli (npm ci, no browser download)", flush=True)
    env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}
    try:
        completed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=MERMAID_DIR,
            env=env,
            check=False,
            timeout=NPM_INSTALL_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as error:
        raise DiagramError(f"npm ci took longer than {NPM_INSTALL_TIMEOUT_S} s") from error
    if completed.returncode != 0:
        raise DiagramError(f"npm ci in {MERMAID_DIR} failed with exit code {completed.returncode}")


def render(sources: Sequence[Path]) -> None:
    """Render each .mmd to an .svg beside it, all in one Chromium process."""
    if not sources:
        raise DiagramError(f"no .mmd files to render under {DIAGRAMS_DIR}")
    launch = json.loads(PUPPETEER_CONFIG.read_text(encoding="utf-8"))
    launch["executablePath"] = os.environ.get("CHROMIUM_PATH") or launch["executablePath"]
    if not Path(launch["executablePath"]).exists():
        raise DiagramError(
            f"{launch['executablePath']} not found: run `make setup-browser` "
            "or set CHROMIUM_PATH to a Chromium binary"
        )
    ensure_mermaid_cli()
    node = shutil.which("node")
    if node is None:
        raise DiagramError("node not found: install Node.js 20+ (apt-get install nodejs npm)")
    print(f"[diagrams] rendering {len(sources)} diagram(s)", flush=True)
    with tempfile.TemporaryDirectory(prefix="puppeteer-") as scratch:
        config = Path(scratch) / "puppeteer-config.json"
        config.write_text(json.dumps(launch), encoding="utf-8")
        command = [node, "render.mjs", str(config), *(str(path) for path in sources)]
        try:
            completed = subprocess.run(
                command, cwd=MERMAID_DIR, check=False, timeout=RENDER_TIMEOUT_S
            )
        except subprocess.TimeoutExpired as error:
            raise DiagramError(f"rendering took longer than {RENDER_TIMEOUT_S} s") from error
    if completed.returncode != 0:
        raise DiagramError("some diagrams failed to render (see the error lines above)")


def parse_dbt_project(target_dir: Path | None = None) -> Path:
    """Run `dbt parse` in-process and return the manifest it wrote (into target_dir if given)."""
    from dbt.cli.main import dbtRunner  # imported here: dbt takes ~1 s to import

    print("[diagrams] dbt parse", flush=True)
    args = ["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if target_dir is not None:
        args += ["--target-path", str(target_dir), "--log-path", str(target_dir)]
    result = dbtRunner().invoke(args)
    if not result.success:
        raise DiagramError(f"dbt parse failed: {result.exception or 'see the dbt log above'}")
    return (target_dir or DBT_PROJECT_DIR / "target") / "manifest.json"


def lineage_group(node: Mapping[str, Any]) -> str:
    kind = str(node["resource_type"])
    if kind in ("source", "seed", "exposure"):
        return kind
    folders = node.get("fqn", [])[1:-1]
    return folders[0] if folders and folders[0] in dict(LINEAGE_GROUPS) else "other"


def lineage_label(node: Mapping[str, Any]) -> str:
    if node["resource_type"] == "source":
        return f"{node['source_name']}.{node['name']}"
    return str(node["name"])


def lineage_mermaid(manifest: Mapping[str, Any]) -> str:
    """A Mermaid flowchart of sources, seeds, models and exposures and the refs between them."""
    nodes: dict[str, Mapping[str, Any]] = {
        **{uid: node for uid, node in manifest["sources"].items()},
        **{uid: node for uid, node in manifest.get("exposures", {}).items()},
        **{
            uid: node
            for uid, node in manifest["nodes"].items()
            if node["resource_type"] in ("model", "seed", "snapshot")
        },
    }
    ordered = sorted(nodes, key=lambda uid: lineage_label(nodes[uid]))
    # Ids follow the names (stable diffs) without underscores or dots (Mermaid-safe).
    node_ids = {uid: re.sub(r"[^A-Za-z0-9]", "", lineage_label(nodes[uid])) for uid in ordered}
    if len(set(node_ids.values())) < len(node_ids):
        raise DiagramError("two dbt resources map to one Mermaid node id; rename one")
    lines = [
        "%% GENERATED from the dbt manifest by `python -m tools.diagrams --lineage`.",
        "%% Do not edit: run `make diagrams` after changing the dbt project.",
        "flowchart LR",
    ]
    for group, title in LINEAGE_GROUPS:
        members = [uid for uid in ordered if lineage_group(nodes[uid]) == group]
        if not members:
            continue
        lines.append(f'    subgraph {group}["{title}"]')
        for uid in members:
            shape = LINEAGE_SHAPES.get(group, ('["', '"]'))
            lines.append(f"        {node_ids[uid]}{shape[0]}{lineage_label(nodes[uid])}{shape[1]}")
        lines.append("    end")
    for uid in ordered:
        parents = sorted(set(nodes[uid].get("depends_on", {}).get("nodes", [])) & set(nodes))
        lines.extend(f"    {node_ids[parent]} --> {node_ids[uid]}" for parent in parents)
    return "\n".join(lines) + "\n"


def _yaml_documents(folder: Path) -> list[dict[str, Any]]:
    import yaml  # a dependency of dbt; imported here like dbt

    return [
        yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(folder.rglob("*.yaml"))
    ]


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _node_id(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9]", "", name)


def dashboard_map_mermaid(bundle_dir: Path) -> str:
    """A Mermaid flowchart: mart tables -> Superset charts -> dashboards, from the bundle YAML."""
    datasets = {
        document["uuid"]: f"{document['schema']}.{document['table_name']}"
        for document in _yaml_documents(bundle_dir / "datasets")
    }
    charts = {document["uuid"]: document for document in _yaml_documents(bundle_dir / "charts")}
    dashboards = sorted(
        _yaml_documents(bundle_dir / "dashboards"), key=lambda document: document["dashboard_title"]
    )
    lines = [
        "%% GENERATED from superset_config/bundle by `python -m tools.diagrams --lineage`.",
        "%% Do not edit: run `make diagrams` after changing the dashboards.",
        "flowchart LR",
        '    subgraph tables["warehouse tables (Superset datasets)"]',
    ]
    lines += [
        f'        {_node_id("t", table)}[("{table}")]' for table in sorted(set(datasets.values()))
    ]
    lines += ["    end", '    subgraph charts["charts"]']
    ordered_charts = sorted(charts.values(), key=lambda chart: chart["slice_name"])
    lines += [
        f'        {_node_id("c", chart["uuid"])}["{_mermaid_text(chart["slice_name"])}"]'
        for chart in ordered_charts
    ]
    lines += ["    end", '    subgraph dashboards["dashboards"]']
    lines += [
        f'        {_node_id("d", board["uuid"])}(["{_mermaid_text(board["dashboard_title"])}"])'
        for board in dashboards
    ]
    lines.append("    end")
    for chart in ordered_charts:
        table = datasets.get(chart["dataset_uuid"])
        if table is None:
            raise DiagramError(f"chart {chart['slice_name']!r} uses a dataset not in the bundle")
        lines.append(f"    {_node_id('t', table)} --> {_node_id('c', chart['uuid'])}")
    for board in dashboards:
        chart_ids = sorted(
            {
                item["meta"]["uuid"]
                for item in (board.get("position") or {}).values()
                if isinstance(item, dict) and item.get("type") == "CHART"
            }
        )
        lines += [
            f"    {_node_id('c', uid)} --> {_node_id('d', board['uuid'])}" for uid in chart_ids
        ]
    return "\n".join(lines) + "\n"


def write_dashboard_map(bundle_dir: Path = DASHBOARD_BUNDLE_DIR) -> Path:
    DASHBOARD_MAP_PATH.write_text(dashboard_map_mermaid(bundle_dir), encoding="utf-8")
    print(f"[diagrams] wrote {DASHBOARD_MAP_PATH.relative_to(REPO)}", flush=True)
    return DASHBOARD_MAP_PATH


def write_lineage(manifest_path: Path, output: Path = LINEAGE_PATH) -> Path:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(lineage_mermaid(manifest), encoding="utf-8")
    print(f"[diagrams] wrote {output.relative_to(REPO)}", flush=True)
    return output


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.diagrams", description=__doc__.split("\n")[0]
    )
    parser.add_argument("files", nargs="*", type=Path, help="render only these .mmd files")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--lineage", action="store_true", help="only regenerate and render the derived diagrams"
    )
    mode.add_argument(
        "--skip-lineage", action="store_true", help="render without regenerating derived diagrams"
    )
    return parser.parse_args(argv)


def resolve_files(files: Iterable[Path]) -> list[Path]:
    resolved = [path.resolve() for path in files]
    missing = [str(path) for path in resolved if path.suffix != ".mmd" or not path.is_file()]
    if missing:
        raise DiagramError(f"not a .mmd file: {', '.join(missing)}")
    return resolved


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        if args.files:
            render(resolve_files(args.files))
        elif args.lineage:
            render([write_lineage(parse_dbt_project()), write_dashboard_map()])
        else:
            if not args.skip_lineage:
                write_lineage(parse_dbt_project())
                write_dashboard_map()
            render(all_sources())
    except DiagramError as error:
        print(f"[diagrams] error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
