"""The ``/_sandbox`` control API (no auth, not counted) and the faults it injects."""
