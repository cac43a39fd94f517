# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible side of the Azure modules: the shared auth argspec (documented by the
``kedaops.aks.azure_auth`` doc fragment) and a small AnsibleModule that turns an ``AzureError``
into a failure that keeps Azure's code, message and status."""

from __future__ import annotations

from typing import Any, Callable

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ._azure import AUTH_ENV, AUTH_SOURCES, AzureAuth, AzureConnection, AzureError, AzureValidationError


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


class AzureModule(AnsibleModule):
    """AnsibleModule with the shared Azure auth options and Azure-aware failures."""

    def __init__(self, argument_spec: dict[str, Any], **kwargs: Any):
        spec = azure_auth_argspec()
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        self._connection: AzureConnection | None = None

    @property
    def connection(self) -> AzureConnection:
        if self._connection is None:
            self._connection = AzureConnection(AzureAuth.from_params(self.params))
        return self._connection

    def fail_azure(self, error: AzureError | AzureValidationError, **result: Any) -> None:
        if isinstance(error, AzureError):
            self.fail_json(msg=error.msg, error=error.as_dict(), **result)
        self.fail_json(msg=str(error), **result)

    def run(self, action: Callable[[AzureConnection], dict[str, Any]]) -> None:
        """Run ``action`` and exit with its result; Azure errors and refusals become failures."""
        try:
            result = action(self.connection)
        except (AzureError, AzureValidationError) as err:
            self.fail_azure(err)
        else:
            self.exit_json(**result)
