"""The systemd unit shipped in deploy/ restarts the bot on failure, not on set-up mistakes, and lets it stop cleanly."""

from __future__ import annotations

import configparser
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "hearth.service"


def test_systemd_unit_restarts_on_failure_and_stops_with_sigterm_in_time() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    service = parser["Service"]
    assert service["ExecStart"].endswith("-m bot run")
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # EXIT_NO_TOKEN / set-up mistakes in bot.__main__
    assert service["KillSignal"] == "SIGTERM"
    # Shutdown under a burst takes a few seconds (tests/e2e/RELIABILITY.md): keep the stop timeout above it.
    assert int(service["TimeoutStopSec"]) >= 15
    assert parser["Install"]["WantedBy"] == "multi-user.target"
