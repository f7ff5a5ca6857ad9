"""How long `python -m bot demo` takes, end to end as a manager runs it (a fresh process each time).

`python benchmarks/demo.py [--runs 5]`; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    """Time several runs in fresh processes; print each, then the median as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    seconds = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bot", "demo", "--out", str(Path(folder) / "charts")],
                check=True,
                capture_output=True,
                cwd=folder,
            )
            seconds.append(time.perf_counter() - started)
            print(f"run: {seconds[-1]:.2f} s")
    print(
        json.dumps(
            {
                "benchmark": "demo",
                "runs": runs,
                "median_s": round(statistics.median(seconds), 3),
                "min_s": round(min(seconds), 3),
                "max_s": round(max(seconds), 3),
                "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                "python": platform.python_version(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
