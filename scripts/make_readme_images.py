"""Regenerate the README's pictures from the demo community: `python scripts/make_readme_images.py`.

Runs the same tour as `python -m bot demo` and writes its charts into docs/images/.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.i18n import Catalog  # noqa: E402
from bot.demo.tour import run_tour  # noqa: E402


def main() -> int:
    """Write docs/images/*.png."""
    folder = ROOT / "docs" / "images"
    folder.mkdir(parents=True, exist_ok=True)
    tour = asyncio.run(run_tour(folder, Catalog.load()))
    for path in tour.charts:
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
