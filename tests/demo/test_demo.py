"""`python -m bot demo`: the shipped sample community, its figures and charts, from any directory."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

from bot.core.i18n import Catalog
from bot.demo.tour import export_files, run_tour

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_shipped_export_is_what_the_generator_writes(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_demo_export
    finally:
        sys.path.pop(0)
    first = make_demo_export.write(tmp_path / "a")
    second = make_demo_export.write(tmp_path / "b")
    shipped = {p.name: p for p in export_files()}
    assert sorted(shipped) == sorted(p.name for p in first)
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()  # deterministic
        assert filecmp.cmp(a, shipped[a.name], shallow=False), "run: python scripts/make_demo_export.py"


async def test_tour_figures_are_the_metrics_of_the_sample(tmp_path: Path, catalog: Catalog) -> None:
    tour = await run_tour(tmp_path, catalog)
    m = tour.overview.members
    assert tour.messages_imported > 1000
    assert m.active.current > 0 and m.messages.current > 0 and m.joined.current > 0
    for chart in tour.charts:
        assert chart.read_bytes().startswith(PNG)


def test_demo_runs_from_any_directory_and_prints_the_figures_it_computed(
    tmp_path: Path, catalog: Catalog
) -> None:
    import asyncio

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "HEARTH_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", "charts"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "charts"
    for name in ("heatmap.png", "sentiment.png", "retention.png"):
        assert (folder / name).read_bytes().startswith(PNG)
    assert str(folder.resolve()) in result.stdout
    expected = asyncio.run(run_tour(tmp_path / "again", catalog)).overview.members
    assert (
        f"messages        {expected.messages.current:.0f} (before: {expected.messages.previous:.0f})"
        in result.stdout
    )
    assert f"active members  {expected.active.current:.0f}" in result.stdout
    assert "Traceback" not in result.stderr
