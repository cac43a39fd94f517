# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one ``workload_bindings`` run keeps while its threads work: the plan, the failures (one binding's
failure does not stop the others), the before/after of every change, the warnings (each once), and the
report they make -- the module's values, or with failures ``BindingsFailed``, which carries that report."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_plan import BindingsPlan
from ansible_collections.kedaops.aks.plugins.module_utils._core import Outcome
from ansible_collections.kedaops.aks.plugins.module_utils._errors import ModuleFailure
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api, K8sError, ResourceNotServed
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_listed import ListedApi


@dataclass
class Failure:
    where: str
    error: Exception

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"where": self.where, "msg": _message(self.error)}
        if isinstance(self.error, (AzureError, K8sError)):
            entry["error"] = self.error.as_dict()
        return entry


def _message(error: Exception) -> str:
    if isinstance(error, AzureError):
        return error.msg
    if isinstance(error, ResourceNotServed):
        return error.message
    if isinstance(error, K8sError):
        return f"{error.reason} ({error.code}): {error.message}"
    return str(error)


class BindingsFailed(ModuleFailure):
    """Some writes failed; ``result`` still says what the run did (and its warnings)."""

    def __init__(self, failures: list[Failure], result: dict[str, Any]):
        first = failures[0]
        more = f" (and {len(failures) - 1} more failure(s), see errors)" if len(failures) > 1 else ""
        super().__init__(f"{first.where}: {_message(first.error)}{more}")
        self.failures = failures
        self.result = result

    @property
    def error(self) -> dict[str, Any] | None:
        first = self.failures[0].error
        return first.as_dict() if isinstance(first, (AzureError, K8sError)) else None

    def failure_result(self) -> dict[str, Any]:
        return {"msg": str(self), "error": self.error, "errors": [f.as_dict() for f in self.failures], **self.result}


class RunState:
    """One run over every binding of ``plan``, through ``conn`` (Azure) and ``api`` (Kubernetes)."""

    def __init__(self, plan: BindingsPlan, conn: AzureConnection, api: Api, check_mode: bool):
        self.plan = plan
        self.params = plan.params
        self.conn = conn
        self.check_mode = check_mode
        self.warnings: list[str] = []
        self.timeout = float(plan.params["timeout"])
        self.lock = threading.Lock()
        self.failures: list[Failure] = []
        self.diff_before: dict[str, Any] = {}
        self.diff_after: dict[str, Any] = {}
        self.bindings = plan.bindings
        self.identities = plan.identities
        # One entry per assignment (bindings of one identity share theirs): (identity, scope, role) -> action.
        self.assignments: dict[tuple[tuple[str, str], str, str], str] = {}
        self.listed = ListedApi(api)  # sends nothing yet

    # -- bookkeeping (called from worker threads) -------------------------------------------------

    def _record(self, ref: str, before: Any, after: Any, changed: bool) -> None:
        if changed:
            with self.lock:
                self.diff_before[ref] = before
                self.diff_after[ref] = after

    def warn(self, message: str) -> None:
        """Each warning once (a missing CRD would otherwise be reported for every binding)."""
        with self.lock:
            if message not in self.warnings:
                self.warnings.append(message)

    def _fail(self, where: str, error: Exception) -> None:
        with self.lock:
            self.failures.append(Failure(where, error))

    def _pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.params["parallel"], thread_name_prefix="kedaops-bindings")

    def _raise_failures(self) -> None:
        if self.failures:
            raise BindingsFailed(self.failures, self._failed_result())

    # -- the report -------------------------------------------------------------------------------

    def _values(self) -> dict[str, Any]:
        bindings = [b.result() for b in self.bindings]
        summary: dict[str, dict[str, int]] = {}
        for binding in self.bindings:
            for kind, verb in binding.actions.items():
                if isinstance(verb, str):
                    counts = summary.setdefault(kind, {})
                    counts[verb] = counts.get(verb, 0) + 1
        for verb in self.assignments.values():
            counts = summary.setdefault("role_assignments", {})
            counts[verb] = counts.get(verb, 0) + 1
        return {
            "bindings": bindings,
            "summary": summary,
            "identities": {i.ref: {k: (i.state or {}).get(k) for k in ("client_id", "principal_id", "tenant_id")}
                           for i in self.identities.values()},
        }

    def outcome(self) -> Outcome:
        values = self._values()
        return Outcome(changed=any(b["changed"] for b in values["bindings"]), before=self.diff_before,
                       after=self.diff_after, warnings=list(self.warnings), values=values)

    def _failed_result(self) -> dict[str, Any]:
        values = self._values()
        failed: dict[str, Any] = {"changed": any(b["changed"] for b in values["bindings"]), **values}
        if self.warnings:
            failed["warnings"] = list(self.warnings)
        return failed
