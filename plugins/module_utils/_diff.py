# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One comparison vocabulary for every module: is the desired state already there, what
would the object look like after our change, and the before/after pair for diff mode.

Desired states are partial: a module states only the fields it owns. "Already there" means
every stated field equals the live value; unstated fields are never compared or removed.
"""

from __future__ import annotations

import copy
from typing import Any

# A value only the apply can tell (a client id Azure assigns, an issuer AKS assigns), as check mode
# shows it in results and diffs -- Terraform's "(known after apply)".
KNOWN_AFTER_APPLY = "(known after apply)"

# Fields the server changes on every write; a difference in them alone is not a change.
VOLATILE_METADATA = ("resourceVersion", "generation", "managedFields", "uid", "creationTimestamp", "selfLink")


def is_subset(desired: Any, actual: Any) -> bool:
    """True when every field stated in ``desired`` has the same value in ``actual``.

    Dicts are compared key by key (extra keys in ``actual`` are fine); lists and scalars
    must be equal as a whole, because a list we own is a list we state completely.
    A ``None`` in ``desired`` means "this key must be absent".
    """
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return False
        for key, value in desired.items():
            if value is None:
                if actual.get(key) is not None:
                    return False
            elif key not in actual or not is_subset(value, actual[key]):
                return False
        return True
    if isinstance(desired, list):
        return isinstance(actual, list) and len(desired) == len(actual) and all(
            is_subset(d, a) if isinstance(d, dict) else d == a for d, a in zip(desired, actual))
    return desired == actual


def without_volatile(obj: dict | None) -> dict | None:
    """A Kubernetes object without the metadata the server rewrites on every write."""
    if not obj:
        return obj
    clean = copy.deepcopy(obj)
    metadata = clean.get("metadata") or {}
    for key in VOLATILE_METADATA:
        metadata.pop(key, None)
    return clean


def diff(before: Any, after: Any, computed: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ``diff`` result value Ansible renders (``--diff``). ``computed``: keys of ``after`` whose
    null means "assigned by the apply" (check mode), shown as KNOWN_AFTER_APPLY."""
    if computed and isinstance(after, dict):
        after = {k: KNOWN_AFTER_APPLY if k in computed and v is None else v for k, v in after.items()}
    return {"before": before if before is not None else {}, "after": after if after is not None else {}}
