# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The federated credentials of the workload_identity role's subjects: one per service account, its
subject built from the namespace and the account's name, every one trusting the cluster's issuer."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError


def federated_credentials(subjects: list[dict[str, Any]] | None, issuer: str | None = None) -> list[dict[str, Any]]:
    """``[{name, issuer, subject}]`` for ``[{namespace, service_account, credential_name}]``: the subject
    ``system:serviceaccount:<namespace>:<service_account>`` (the form the API server puts in the token's ``sub``,
    compared by Entra exactly and case-sensitively), the name ``credential_name`` or ``<namespace>-<service_account>``.
    ``issuer`` null stands for one not known yet (a check-mode preview)."""
    credentials: list[dict[str, Any]] = []
    for index, item in enumerate(subjects or []):
        if not isinstance(item, dict):
            raise AnsibleFilterError(f"federated_credentials: subject {index} must be a dict with namespace and "
                                     f"service_account, got {item!r}")
        namespace, account = item.get("namespace"), item.get("service_account")
        if not (isinstance(namespace, str) and namespace and isinstance(account, str) and account):
            raise AnsibleFilterError(f"federated_credentials: subject {index} needs a namespace and a service_account "
                                     f"(non-empty strings), got {item!r}")
        credentials.append({"name": item.get("credential_name") or f"{namespace}-{account}", "issuer": issuer,
                            "subject": f"system:serviceaccount:{namespace}:{account}"})
    return credentials


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"federated_credentials": federated_credentials}
