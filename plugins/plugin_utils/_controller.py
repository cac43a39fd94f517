# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller shell: every module's same-named action plugin runs the module's core
(``_core.Resource``, through the same ``_core.execute`` the module shell calls) in the controller's
worker, instead of shipping the module to a new Python process.

Why: a module task is a new process (~0.9 s: start-up, AnsiballZ, SDK imports, cloud metadata and a token)
before its first request. ansible-core's linear and free strategies load each task's action plugin class
in the controller's main process, so what this file imports at module level -- azure-identity, the two
management SDKs, the kubernetes client -- is imported once per run and inherited by every forked worker.
Nothing here opens a socket, a client or a thread at import: workers are forked.

When: the task runs on the controller (a ``local`` connection, ``delegate_to: localhost`` included), is
not ``async``, and the user did not opt out (the ``kedaops_aks_shell: module`` variable or the
``KEDAOPS_AKS_SHELL=module`` environment variable; docs/performance.md). Otherwise the plugin runs the
module as ``ansible.builtin.normal`` would.

The same behaviour as the module: the arguments are validated with the module's own spec
(``ModuleArgumentSpecValidator``, fallbacks to ``AZURE_*`` / ``K8S_AUTH_*`` read from the controller's
environment plus the task's ``environment``), check mode and diff as the task says, ``no_log`` values
masked in the result, warnings, and a failure is a failure result -- never a controller traceback.

Token and cloud metadata reuse: a ``RunCache`` in the run's private local temp directory (ansible-core
makes it 0700 and removes it when the run ends, a failed run too), encrypted under ``_RUN_KEY``, drawn
when the controller loads this file and inherited by the workers -- never written anywhere.
"""

from __future__ import annotations

import importlib
import os
import traceback
from contextlib import contextmanager
from typing import Any, Iterator

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.kedaops.aks.plugins.module_utils._azure_token_cache import RunCache
from ansible_collections.kedaops.aks.plugins.module_utils._core import Resource, execute

# Imported here, once, in the controller's main process (see the docstring); a missing library is
# reported by the task that needs it, as the module would.
PRELOADED = ("azure.identity", "azure.mgmt.authorization.v2022_04_01", "azure.mgmt.msi.v2024_11_30",
             "azure.core.pipeline.transport", "kubernetes.client", "kubernetes.config")


def _preload() -> None:
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    # The CA bundle parsed once (~20 ms a task otherwise); a task whose environment names another bundle loads that.
    try:
        from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import warm_tls_context
        warm_tls_context()
    except (ImportError, OSError, ValueError):
        pass


_preload()

SHELL_VARIABLE = "kedaops_aks_shell"
SHELL_ENV = "KEDAOPS_AKS_SHELL"
SHELLS = ("controller", "module")
_RUN_KEY = os.urandom(32)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The task's ``environment`` over the controller's, for the task only (the worker is forked per task;
    this restores it anyway)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update({key: str(value) for key, value in values.items()})
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def inject_invocation(task_vars: dict[str, Any]) -> bool:
    """Whether a module's result carries ``invocation``: ansible-core 2.21's INJECT_INVOCATION setting (off by
    default); before 2.21, AnsibleModule always added it."""
    try:
        return bool(C.config.get_config_value("INJECT_INVOCATION", variables=task_vars))
    except Exception:  # pylint: disable=broad-except  # the setting does not exist before 2.21
        return True


class ControllerAction(NormalAction):  # type: ignore[misc]  # ansible-core ships no type information
    """Base of the collection's action plugins; a subclass names its module's ``resource``."""

    resource: Resource[Any]
    _supports_check_mode = True
    _supports_async = True

    def shell(self, task_vars: dict[str, Any]) -> str:
        """``controller`` or ``module``: where this task runs its core."""
        wanted = str(task_vars.get(SHELL_VARIABLE) or os.environ.get(SHELL_ENV) or "controller")
        if wanted not in SHELLS:
            return "invalid"
        if wanted == "module" or self._task.async_val:
            return "module"
        transport = getattr(self._connection, "transport", None)
        load_name = getattr(self._connection, "_load_name", "")
        return "controller" if transport == "local" or load_name in ("local", "ansible.builtin.local") else "module"

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        shell = self.shell(task_vars)
        if shell == "invalid":
            return {"failed": True, "msg": f"{SHELL_VARIABLE}: must be one of {', '.join(SHELLS)}"}
        if shell == "module":
            return dict(super().run(tmp, task_vars))
        result: dict[str, Any] = dict(ActionBase.run(self, tmp, task_vars))
        if result.get("skipped") or result.get("failed"):
            return result
        environment: dict[str, str] = {}
        self._compute_environment_string(environment)
        with _environment(environment):
            result.update(self._run_core(inject_invocation(task_vars)))
        return result

    def _run_core(self, invocation: bool) -> dict[str, Any]:
        resource = self.resource
        fqcn = f"kedaops.aks.{resource.name}"
        check_mode = bool(self._task.check_mode)
        if check_mode and not resource.supports_check_mode:
            return {"skipped": True, "msg": "remote module does not support check mode"}
        validator = ArgumentSpecValidator(resource.full_spec(), **resource.rules)
        validation = validator.validate(dict(self._task.args))
        no_log_values = validation._no_log_values
        if validation.error_messages:
            error = validation.errors[0]
            msg = validation.errors.msg
            if isinstance(error, UnsupportedError):
                msg = f"Unsupported parameters for ({fqcn}) module: {msg}"
            failed: dict[str, Any] = {"failed": True, "msg": msg}
            if invocation:  # AnsibleModule's: the arguments as far as validation got
                failed["invocation"] = {"module_args": {**self._task.args, **validation.validated_parameters}}
            return dict(remove_values(failed, no_log_values))
        params = validation.validated_parameters
        run = RunCache.open(C.DEFAULT_LOCAL_TMP, _RUN_KEY) if C.DEFAULT_LOCAL_TMP else None
        # AnsibleModule's one validation warning: an option given under its name and an alias.
        warnings = [f"Both option {w['option']} and its alias {w['alias']} are set."
                    for w in validation._warnings if isinstance(w, dict) and "alias" in w]
        try:
            out = execute(resource, params, check_mode=check_mode, want_diff=bool(self._task.diff), run=run)
        except Exception as error:  # pylint: disable=broad-except
            # What the module shell would show as a MODULE FAILURE with its traceback: a result, not a crash.
            out = {"failed": True, "msg": f"{type(error).__name__}: {error}", "exception": traceback.format_exc()}
        if warnings:
            out["warnings"] = warnings + list(out.get("warnings", []))
        if invocation:  # as AnsibleModule returns it, no_log values masked below
            out["invocation"] = {"module_args": params}
        return dict(remove_values(out, no_log_values))
