"""Machine facts, the printed table, ratios and the result files."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = (
    "strawberry-graphql",
    "graphql-core",
    "sqlalchemy",
    "sqlmodel",
    "uvicorn",
    "starlette",
    "uvloop",
    "httptools",
    "aiosqlite",
    "asyncpg",
    "orjson",
    "aiohttp",
)
ROOT = Path(__file__).resolve().parents[1]


def machine_info() -> dict[str, Any]:
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _cpu_model(),
        "cgroup_cpu_max": _read("/sys/fs/cgroup/cpu.max"),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": packages,
        "git": _git_revision(),
        "loadavg_at_start": _loadavg(),
    }
    return info


def _loadavg() -> list[float] | None:
    """Other work on the machine skews every number; the 1/5/15-minute load says how much."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip() or None
    except OSError:
        return None


def _cpu_model() -> str | None:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or None


def _git_revision() -> str | None:
    try:
        found = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


def _ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 2)


def ratios(cases: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """`a_vs_b`: a's p50, p99 and rps divided by b's, from the same run."""
    pairs = {
        "dashboard_vs_graphql_core": ("dashboard", "graphql_core"),
        "dashboard_vs_handwritten": ("dashboard", "handwritten"),
        "graphql_core_vs_handwritten": ("graphql_core", "handwritten"),
        "small_cold_vs_small_repeated": ("small_cold", "small"),
    }
    found = {}
    for name, (a, b) in pairs.items():
        if a in cases and b in cases and "stats" in cases[a] and "stats" in cases[b]:
            sa, sb = cases[a]["stats"], cases[b]["stats"]
            found[name] = {
                "p50": _ratio(sa["p50_ms"], sb["p50_ms"]),
                "p99": _ratio(sa["p99_ms"], sb["p99_ms"]),
                "rps": _ratio(sa["ops_per_s"], sb["ops_per_s"]),
                "server_cpu_per_op": _ratio(
                    sa.get("server_cpu_ms_per_op"), sb.get("server_cpu_ms_per_op")
                ),
            }
    return found


def table(cases: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        f"{'case':<13} {'ops':>6} {'err':>4} {'ops/s':>8} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'CPU ms':>7} {'SQL/op':>7}  what"
    ]
    for name, case in cases.items():
        if "stats" not in case:
            lines.append(f"{name:<13} skipped: {case.get('skipped', '?')}")
            continue
        s = case["stats"]
        sql = case.get("statements")
        cpu = s.get("server_cpu_ms_per_op")
        lines.append(
            f"{name:<13} {s['operations']:>6} {s['errors']:>4} {s['ops_per_s']:>8.1f} "
            f"{s['p50_ms']:>8.2f} {s['p90_ms']:>8.2f} {s['p99_ms']:>8.2f} "
            f"{'-' if cpu is None else f'{cpu:.2f}':>7} {'-' if sql is None else sql:>7}  "
            f"{case.get('what', '')}"
        )
        if s.get("first_error"):
            lines.append(f"{'':<13} first error: {s['first_error']}")
    return lines


def ratio_lines(found: dict[str, dict[str, float | None]]) -> list[str]:
    return [
        f"{name:<30} p50 x{r['p50']}  p99 x{r['p99']}  throughput x{r['rps']}  "
        f"server CPU/op x{r['server_cpu_per_op']}"
        for name, r in found.items()
    ]


def write_results(directory: Path, stem: str, result: dict[str, Any], summary: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.json"
    tmp = directory / f"{stem}.json.tmp"
    tmp.write_text(json.dumps(result, indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(path)
    (directory / f"{stem}.txt").write_text("\n".join(summary) + "\n")
    return path
