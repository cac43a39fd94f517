"""The options of one write request (its query parameters and DeleteOptions) and the warnings it produced."""

from __future__ import annotations

from typing import Any


class Options:
    """Per-request options (the query parameters of a write) and the warnings it produced."""

    def __init__(self, *, dry_run: bool = False, manager: str = "", field_validation: str = "Warn",
                 force: bool | None = None, propagation: str | None = None,
                 preconditions: dict[str, Any] | None = None) -> None:
        self.dry_run = dry_run
        self.manager = manager
        self.field_validation = field_validation or "Warn"
        self.force = force
        self.propagation = propagation
        self.preconditions = preconditions or {}
        self.warnings: list[str] = []
