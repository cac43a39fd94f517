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

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AUTH_ENV, AUTH_SOURCES
from ansible_collections.kedaops.aks.plugins.module_utils._errors import failure

if TYPE_CHECKING:
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api

Plan = TypeVar("Plan")

# The least each module's waiting option may be, in seconds: a wait of 0 or less could only fail (or, for
# the ARM poller, wait for ever); ``wait_timeout`` 0 means "do not wait" (workload_identity_info).
TIMEOUT_MINIMUM = {"timeout": 1, "credential_timeout": 1, "wait_timeout": 0}


def azure_auth_argspec() -> dict[str, Any]:
    def env(option: str) -> tuple[Any, list[str]]:
        return (env_fallback, list(AUTH_ENV[option]))

    return {
        "subscription_id": {"type": "str", "fallback": env("subscription_id")},
        "auth_source": {"type": "str", "default": "auto", "choices": list(AUTH_SOURCES),
                        "fallback": env("auth_source")},
        "tenant": {"type": "str", "fallback": env("tenant")},
        "client_id": {"type": "str", "fallback": env("client_id")},
        "secret": {"type": "str", "no_log": True, "fallback": env("secret")},
        "cloud_environment": {"type": "str", "default": "AzureCloud", "fallback": env("cloud_environment")},
        "authority_host": {"type": "str", "fallback": env("authority_host")},
    }


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
