# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one module shell: an AnsibleModule that merges the Azure and Kubernetes auth options on
request (documented by the ``kedaops.aks.azure_auth`` and ``kedaops.aks.k8s_auth`` doc fragments),
opens either connection lazily on first use, and turns any of the collection's errors into a
failure result through ``_errors.failure`` (Azure's and Kubernetes' codes kept under ``error``).

A module's ``main()`` is then one line: build the shell, hand ``run`` the function that returns the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import azure_auth_argspec
from ansible_collections.kedaops.aks.plugins.module_utils._core import TIMEOUT_MINIMUM, Resource, execute
from ansible_collections.kedaops.aks.plugins.module_utils._errors import failure

if TYPE_CHECKING:
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api

Plan = TypeVar("Plan")

class KedaopsModule(AnsibleModule):  # type: ignore[misc]  # ansible-core ships no type information
    """AnsibleModule with the shared auth options, lazy ``azure`` / ``k8s`` connections and failures
    that keep the service's error code. Check mode is supported unless a module says otherwise."""

    def __init__(self, argument_spec: dict[str, Any], *, azure: bool = False, k8s: bool = False,
                 **kwargs: Any) -> None:
        spec: dict[str, Any] = {}
        if azure:
            spec.update(azure_auth_argspec())
        if k8s:
            from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import AUTH_ARGSPEC
            spec.update(AUTH_ARGSPEC)
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        super().__init__(argument_spec=spec, **kwargs)
        self._azure: AzureConnection | None = None
        self._k8s: Api | None = None
        for option, least in TIMEOUT_MINIMUM.items():
            value = self.params.get(option)
            if isinstance(value, int) and value < least:
                self.fail_json(msg=f"{option}: {value} must be at least {least} (seconds)")

    @property
    def azure(self) -> AzureConnection:
        """The Azure connection (credential, cloud, clients); nothing is sent until a client is used."""
        if self._azure is None:
            from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth
            from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
            self._azure = AzureConnection(AzureAuth.from_params(self.params))
        return self._azure

    @property
    def k8s(self) -> Api:
        """The Kubernetes API of the cluster the options point at; nothing is sent until a call."""
        if self._k8s is None:
            from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api
            from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import connect
            try:
                transport = connect(self.params)
            except ImportError as e:
                self.fail_json(msg=missing_required_lib("kubernetes"), exception=str(e))
            self._k8s = Api(transport)
        return self._k8s

    def run(self, action: Callable[[KedaopsModule], dict[str, Any]]) -> None:
        """Exit with ``action(module)``'s result (its ``warnings`` as warnings), or fail with the result
        of the error it raised; an error not of the collection's family keeps its traceback."""
        try:
            result = action(self)
        except Exception as error:  # pylint: disable=broad-except
            failed = failure(error)
            if failed is None:
                raise
            # Something written before the failure (an earlier item, a create that then timed out) is a change.
            failed.setdefault("changed", self.wrote())
            self.fail_json(**failed)
        for warning in result.pop("warnings", []):
            self.warn(warning)
        self.exit_json(**result)

    def wrote(self) -> bool:
        """Whether Azure or Kubernetes accepted a write during this run (dry runs and token requests aside)."""
        return bool((self._azure is not None and self._azure.writes) or (self._k8s is not None and self._k8s.writes))

    def run_plan(self, build: Callable[[dict[str, Any]], Plan],
                 apply: Callable[[Api, Plan, bool, bool], dict[str, Any]]) -> None:
        """Validate every option (``build``) before connecting, then ``apply(api, plan, check_mode, diff)``."""
        def action(module: KedaopsModule) -> dict[str, Any]:
            plan = build(module.params)
            return apply(module.k8s, plan, module.check_mode, module._diff)
        self.run(action)


def run_module(resource: Resource[Any]) -> None:
    """The module shell: validate with the resource's own spec, run ``execute`` and exit with its result."""
    module = AnsibleModule(argument_spec=resource.full_spec(), supports_check_mode=resource.supports_check_mode,
                           **resource.rules)
    outcome = execute(resource, module.params, check_mode=module.check_mode, want_diff=module._diff)
    for warning in outcome.pop("warnings", []):
        module.warn(warning)
    if outcome.pop("failed", False):
        module.fail_json(**outcome)
    module.exit_json(**outcome)
