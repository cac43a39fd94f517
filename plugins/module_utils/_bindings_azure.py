# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``workload_bindings``' Azure side: per identity, one GET of the identity and one list of its federated
credentials; the credentials planned by ``_azure_msi``'s own planner (its limit and issuer+subject
refusals), written under the per-identity write lock; the role assignments by ``_azure_rbac``."""

from __future__ import annotations

from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_rbac as rbac
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, azure_errors
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_plan import PRINCIPAL_TYPE, Binding, Identity
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_run import RunState
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import NIL_GUID


class AzureSide(RunState):
    """The identities' part of the run (each identity in a worker thread)."""

    def _prepare_azure(self) -> None:
        """Build the credential and clients and fetch the token once, before the threads share them
        (the connection builds them lazily, and each client's auth policy would fetch its own)."""
        conn = self.conn
        conn.msi()
        scopes = {a["scope"] for b in self.bindings for a in b.params.get("role_assignments") or []}
        for scope in scopes:
            conn.authorization(rbac.subscription_of(scope))
        with azure_errors("authenticating to Azure"):
            conn.credential.get_token(conn.cloud.scope)

    def _read_identity(self, identity: Identity) -> None:
        try:
            identity.state = msi.get_identity(self.conn, identity.resource_group, identity.name)
            if identity.state is None:
                identity.missing = True
                present = any(b.identity is identity and b.state == "present" for b in self.bindings)
                if not present:
                    return
                if not self.check_mode:
                    raise AzureError(
                        f"Managed identity {identity.ref} does not exist; create it first (kedaops.aks.managed_identity, "
                        f"or the workload_bindings role's workload_bindings_identities)",
                        code="ResourceNotFound", status=404)
                self.warn(f"managed identity {identity.ref} does not exist yet: check mode predicts its bindings "
                          f"with client id {NIL_GUID}")
                return
            identity.credentials = msi.list_credentials(self.conn, identity.resource_group, identity.name)
        except (AzureError, OptionError) as e:
            self._fail(f"identity {identity.ref}", e)

    def _plan_credentials(self, identity: Identity, credentials: list[dict[str, Any]],
                          bindings: list[Binding]) -> list[tuple[Binding, dict | None, dict | None]]:
        """(binding, current, desired) per binding; desired None = nothing to do, {} = delete.

        The planner sees the credentials the earlier bindings will add, so the 21st is refused;
        a refused binding is reported as failed and the others go on, as separate tasks would.
        Deletions are planned first: they make room under the limit.
        """
        issuer, audiences = self.params.get("issuer"), self.params["audiences"]
        working = list(credentials)
        plans: list[tuple[Binding, dict | None, dict | None]] = []
        for binding in sorted(bindings, key=lambda b: b.state != "absent"):
            if binding.state == "absent":
                current = msi.find_credential(working, binding.credential_name)
                plans.append((binding, current, {} if current else None))
                if current:
                    working.remove(current)
                continue
            try:
                current, desired = msi.plan_credential(working, identity.name, binding.credential_name, issuer,  # type: ignore[arg-type]
                                                       binding.subject, audiences)
            except AzureError as e:
                self._fail(f"{binding.where}.credential", e)
                binding.actions["credential"] = "failed"
                continue
            if desired is not None:
                if current is not None:
                    working.remove(current)
                working.append({**desired, "id": desired["id"] or msi.credential_id(self.conn, identity.resource_group, identity.name, desired["name"])})
            plans.append((binding, current, desired))
        return plans

    def _converge_identity(self, identity: Identity, bindings: list[Binding]) -> None:
        try:
            self._converge_credentials(identity, bindings)
        except (AzureError, OptionError) as e:
            self._fail(f"identity {identity.ref}", e)
        self._converge_roles(identity, bindings)

    def _converge_credentials(self, identity: Identity, bindings: list[Binding]) -> None:
        issuer = self.params.get("issuer") or ""
        plans = self._plan_credentials(identity, identity.credentials, bindings)
        for binding, _current, _desired in plans:
            if binding.state == "present":
                for message in msi.near_misses(identity.credentials, issuer, binding.subject):
                    self.warn(f"{binding.where}: {message}")
        if not any(desired is not None for _b, _c, desired in plans) or self.check_mode or identity.missing:
            for binding, current, desired in plans:
                self._credential_done(identity, binding, current, desired, None)
            return
        lock_id = msi.identity_id(self.conn.subscription_id, identity.resource_group, identity.name)
        with msi.identity_write_lock(lock_id, self.timeout):
            # Another process may have written while we waited for the lock: plan again on fresh state.
            identity.credentials = msi.list_credentials(self.conn, identity.resource_group, identity.name)
            pending = [b for b in bindings if b.actions.get("credential") != "failed"]
            for binding, current, desired in self._plan_credentials(identity, identity.credentials, pending):
                try:
                    written = self._write_credential(identity, current, desired)
                except AzureError as e:
                    self._fail(f"{binding.where}.credential", e)
                    binding.actions["credential"] = "failed"
                    continue
                self._credential_done(identity, binding, current, desired, written)

    def _write_credential(self, identity: Identity, current: dict | None,
                          desired: dict | None) -> dict | None:
        if desired is None:
            return current
        if not desired:
            if current is not None:
                msi.delete_credential(self.conn, identity.resource_group, identity.name, current["name"], self.timeout)
            return None
        return msi.write_credential(self.conn, identity.resource_group, identity.name, desired, self.timeout)

    def _credential_done(self, identity: Identity, binding: Binding, current: dict | None, desired: dict | None,
                         written: dict | None) -> None:
        ref = f"FederatedIdentityCredential {identity.ref}/{binding.credential_name}"
        if desired is None:
            binding.actions["credential"] = "unchanged" if current else "absent"
            return
        if not desired:
            binding.actions["credential"] = "deleted"
            self._record(ref, current, None, True)
            return
        after = written or {**desired, "id": desired["id"] or msi.credential_id(self.conn, identity.resource_group, identity.name, desired["name"])}
        binding.actions["credential"] = "updated" if current else "created"
        self._record(ref, current, after, True)

    def _converge_roles(self, identity: Identity, bindings: list[Binding]) -> None:
        wanted: dict[tuple[str, str], list[Binding]] = {}
        unwanted: dict[tuple[str, str], list[Binding]] = {}
        for binding in bindings:
            target = wanted if binding.state == "present" else unwanted
            for assignment in binding.params.get("role_assignments") or []:
                target.setdefault((rbac.normalize_scope(assignment["scope"]), assignment["role"]), []).append(binding)
        # An assignment still wanted by a present binding of the identity stays (and an absent
        # binding that listed it is told so).
        for key in list(unwanted):
            if key in wanted:
                wanted[key].extend(unwanted.pop(key))
        for (scope, role), owners in list(wanted.items()) + list(unwanted.items()):
            present = (scope, role) in wanted
            try:
                if identity.missing:
                    changed, before, after = True, None, {"scope": scope, "role": role}
                elif present:
                    changed, before, after = rbac.ensure_assignment_present(
                        self.conn, scope, role, identity.principal_id, PRINCIPAL_TYPE, self.check_mode, self.timeout)
                else:
                    changed, before = rbac.ensure_assignment_absent(
                        self.conn, scope, role, identity.principal_id, PRINCIPAL_TYPE, self.check_mode)
                    after = None
            except (AzureError, OptionError) as e:
                self._fail(f"{owners[0].where}.role_assignments ({role} on {scope})", e)
                verb = "failed"
            else:
                verb = ("created" if present else "deleted") if changed else ("unchanged" if present else "absent")
                self._record(f"RoleAssignment {role} for {identity.ref} on {scope}", before, after, changed)
            with self.lock:
                self.assignments[(identity.key, scope, role)] = verb
            for binding in owners:
                binding.actions.setdefault("role_assignments", []).append(
                    {"scope": scope, "role": role, "action": verb})
