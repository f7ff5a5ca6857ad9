"""Where the shipped data is: data/ is installed as the package `hearth_data` (see pyproject.toml).

Read through importlib.resources, so the catalogs, lexicons and model are found the same way from a
checkout, an editable install or a plain `pip install .`, whatever the current directory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_path(*parts: str) -> Path:
    """Return the path of a shipped data file or folder, e.g. `data_path("locales")`."""
    # hearth_data is a regular package on disk (never zipped), so its resources are real files.
    return Path(str(files("hearth_data").joinpath(*parts)))
