# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller shell of ``kedaops.aks.cluster_access``.

When the task runs on the controller (``connection: local``, as fleet hosts do) the module's code runs
here, in the worker: the options are checked with the module's own argument spec (environment fallbacks
included), the kubeconfig goes into the run's private temporary directory (Ansible's per-process
``DEFAULT_LOCAL_TMP``, mode 0700, removed when the run ends) and failures keep the module's result shape.
Anywhere else the module itself runs (its fallback directory, see its documentation).
"""

from __future__ import annotations

import os
from typing import Any

from ansible import constants as C
from ansible.plugins.action import ActionBase

MODULE = "kedaops.aks.cluster_access"
LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        if not self._on_controller():
            result.update(self._execute_module(module_name=MODULE, module_args=dict(self._task.args), task_vars=task_vars))
            return result
        result.update(self._run_here(dict(self._task.args)))
        return result

    def _on_controller(self) -> bool:
        transport = getattr(self._connection, "transport", "") or getattr(self._connection, "_load_name", "")
        return transport in LOCAL_CONNECTIONS and not self._play_context.become

    @staticmethod
    def _run_here(args: dict[str, Any]) -> dict[str, Any]:
        from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

        from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth
        from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
        from ansible_collections.kedaops.aks.plugins.module_utils._cluster_access import ARGUMENT_SPEC, apply, build
        from ansible_collections.kedaops.aks.plugins.module_utils._errors import failure
        from ansible_collections.kedaops.aks.plugins.module_utils._module import azure_auth_argspec

        spec = dict(azure_auth_argspec())
        spec.update(ARGUMENT_SPEC)
        validated = ArgumentSpecValidator(spec).validate(args)
        if validated.error_messages:
            return {"failed": True, "changed": False, "msg": "; ".join(validated.error_messages)}
        params = validated.validated_parameters
        try:
            plan = build(params)
            return apply(AzureConnection(AzureAuth.from_params(params)), plan,
                         os.path.join(C.DEFAULT_LOCAL_TMP, "kedaops-cluster-access"))
        except Exception as error:  # pylint: disable=broad-except
            failed = failure(error)
            if failed is None:
                raise
            return dict(failed, failed=True, changed=False)
