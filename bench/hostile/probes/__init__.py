"""The probes, in the order run.py runs them. Each module has NAME, DESCRIPTION, BUDGET_S (hard
cap in seconds, enforced by run.py) and run(context) -> {"measurements": {...}, "verdict": str}."""

from probes import (
    brute_force,
    file_modes,
    freeze,
    refresh_fork,
    registration,
    rogue_kid,
    shutdown,
    timeouts,
)

PROBES = [freeze, file_modes, timeouts, shutdown, brute_force, refresh_fork, rogue_kid, registration]
