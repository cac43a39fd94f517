# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one error family and the one way a failure becomes a module result.

- ``OptionError``: input that cannot work, found before anything is sent (every module, Azure or
  Kubernetes); the message names the option and the rule, and ``at`` names where in a list it sits.
- ``ConfigError``: no usable cluster configuration (nothing was sent).
- ``ModuleFailure``: a failure that carries its own result (the bulk module's per-binding report).
- ``AzureError`` (``_azure_errors``) and ``K8sError`` / ``ResourceNotServed`` (``_k8s_api``) keep the
  service's code; ``failure`` puts it under ``error`` in the result.
"""

from __future__ import annotations

from typing import Any


class OptionError(ValueError):
    """An option breaks a rule; raised before anything is sent. The message starts with the option."""

    def at(self, path: str, separator: str = ".") -> OptionError:
        """The same rule, named from ``path``: ``min_replicas: ...`` at ``bindings[3].scaled_object``
        reads ``bindings[3].scaled_object.min_replicas: ...``."""
        return OptionError(f"{path}{separator}{self}")


class ConfigError(Exception):
    """No usable cluster configuration (nothing was sent)."""


class ModuleFailure(Exception):
    """A failure with a result of its own (``msg`` plus what the module reports with it)."""

    def failure_result(self) -> dict[str, Any]:
        return {"msg": str(self)}


def failure(error: BaseException) -> dict[str, Any] | None:
    """The failure result (``msg``, and ``error`` with the service's code) for any error of ours;
    None for anything else, which is a bug and keeps its traceback."""
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import K8sError, ResourceNotServed

    if isinstance(error, ModuleFailure):
        return error.failure_result()
    if isinstance(error, (OptionError, ConfigError)):
        return {"msg": str(error)}
    if isinstance(error, AzureError):
        return {"msg": error.msg, "error": error.as_dict()}
    if isinstance(error, ResourceNotServed):
        return {"msg": error.message, "error": error.as_dict()}
    if isinstance(error, K8sError):
        return {"msg": f"{error.reason} ({error.code}): {error.message}", "error": error.as_dict()}
    return None
