# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one error family and the one way a failure becomes a module result.

- ``OptionError``: input that cannot work, found before anything is sent (every module, Azure or
  Kubernetes); the message names the option and the rule, and ``at`` names where in a list it sits.
- ``ConfigError``: no usable cluster configuration (nothing was sent).
- ``ModuleFailure``: a failure that carries its own result (the bulk module's per-binding report).
- ``AzureError`` (``_azure_errors``) and ``K8sError`` / ``ResourceNotServed`` (``_k8s_api``) keep the
  service's code under ``error`` in the result.

Every error of the family owns its result (``failure_result``); ``failure`` only asks it.
"""

from __future__ import annotations

from typing import Any


class KedaopsError(Exception):
    """The family: an error that knows its failure result (``msg``, and the service's code under ``error``)."""

    def failure_result(self) -> dict[str, Any]:
        return {"msg": str(self)}


class OptionError(KedaopsError, ValueError):
    """An option breaks a rule; raised before anything is sent. The message starts with the option."""

    def at(self, path: str, separator: str = ".") -> OptionError:
        """The same rule, named from ``path``: ``min_replicas: ...`` at ``bindings[3].scaled_object``
        reads ``bindings[3].scaled_object.min_replicas: ...``."""
        return OptionError(f"{path}{separator}{self}")


class ConfigError(KedaopsError):
    """No usable cluster configuration (nothing was sent)."""


class ModuleFailure(KedaopsError):
    """A failure with a result of its own (``msg`` plus what the module reports with it)."""


def failure(error: BaseException) -> dict[str, Any] | None:
    """The failure result of any error of ours; None for anything else, which is a bug and keeps its traceback."""
    return error.failure_result() if isinstance(error, KedaopsError) else None
