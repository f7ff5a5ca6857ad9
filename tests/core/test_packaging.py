"""A plain `pip install .` carries everything Hearth reads at run time (catalogs, lexicons, model, migrations)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_packages_listed_in_pyproject_are_the_packages_in_the_tree() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    in_tree = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("bot", "cogs")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert set(config["packages"]) == in_tree | {"hearth_data"}
    assert config["package-dir"] == {"hearth_data": "data"}


def test_the_wheel_holds_the_data_read_at_run_time(tmp_path: Path) -> None:
    # Built from a copy: setuptools writes build/ beside the sources, and the checkout stays clean.
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", ".venv", "venv", "build", "*.egg-info", "__pycache__", "*.db*"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("hearth-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        *(
            f"hearth_data/locales/{lang}/{p.name}"
            for lang in ("en", "fr")
            for p in (ROOT / "data/locales" / lang).glob("*.json")
        ),
        *(f"hearth_data/conflict/{p.name}" for p in (ROOT / "data/conflict").iterdir() if p.is_file()),
        *(f"hearth_data/prompts/{p.name}" for p in (ROOT / "data/prompts").iterdir() if p.is_file()),
        *(f"bot/core/migrations/{p.name}" for p in (ROOT / "bot/core/migrations").glob("*.sql")),
        *(f"hearth_data/demo/{p.name}" for p in (ROOT / "data/demo").glob("*.json")),
        "hearth_data/__init__.py",
    }
    assert expected - names == set()
    assert not any(name.endswith(".db") for name in names)
    license_files = [n for n in names if n.endswith("LICENSE")]
    assert license_files, "the MIT licence ships in the wheel"
