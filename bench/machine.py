"""What every bench prints about where and what it measured: the machine, the code, peak memory.

Shared by ``bench/pipeline.py`` and ``bench/warehouse_queries.py``.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine_line() -> str:
    """Cores, CPU model and RAM of this machine, with the load when the bench started."""
    import duckdb

    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    usable = len(os.sched_getaffinity(0))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} cores ({usable} usable), {model}, {ram_kb / 1024**2:.1f} GiB RAM, "
        f"load average {load}; Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def code_line() -> str:
    """Which code was measured: the commit, and a digest of uncommitted changes on top of it."""
    import hashlib

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
        ).stdout

    try:
        head = git("rev-parse", "--short", "HEAD").strip()
        changed = git("status", "--porcelain", "--untracked-files=no").splitlines()
        digest = hashlib.sha1(git("diff", "HEAD", "--no-color").encode()).hexdigest()[:8]
    except (OSError, subprocess.CalledProcessError):
        return f"code: {ROOT}, not a git checkout"
    if not changed:
        return f"code: {ROOT}, commit {head}"
    return f"code: {ROOT}, commit {head} plus {len(changed)} changed files (diff {digest})"


def maxrss_mb() -> float:
    """High-water mark of this process's resident memory, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
