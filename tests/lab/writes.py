"""What the lab's request log counts as a write (``GET /requests?writes=1``, the tests' and the bench's rule)."""

from __future__ import annotations

from typing import Any

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def is_write(entry: dict[str, Any]) -> bool:
    """A logged call that changes something. Kubernetes dry runs (``dryRun=All``) persist nothing
    (https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run), a token request at Entra
    creates nothing, an ARM POST ``list*`` action (listClusterUserCredential) reads, and the control endpoint
    is the test's own."""
    action = entry["path"].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].lower()
    return (entry["method"] in WRITE_METHODS and entry["service"] not in ("entra", "control")
            and "dryRun=All" not in entry["path"] and not (entry["method"] == "POST" and action.startswith("list")))
