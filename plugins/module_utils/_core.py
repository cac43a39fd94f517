# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one resource contract, for the Azure and the Kubernetes tower alike, and the one run of it.

Every module is a ``Resource``: its argument spec (the shared auth options merged in by ``full_spec``),
a pure ``build(params) -> plan`` -- the only place input is checked, no I/O -- and
``apply(connection, plan, check_mode) -> Outcome``. ``execute`` is the whole task for both shells: the
module shell (``_module.run_module``, an AnsibleModule on the target) and the controller shell
(``plugins/plugin_utils/_controller.py``, the same-named action plugin in the controller's worker) hand
it validated parameters and return what it returns, so the two cannot drift apart.

``Outcome`` is the one result type: ``changed``, the ``before`` / ``after`` pair for diff mode, the keys
``after`` knows only after the apply (check mode), the module's own result keys, and warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from ansible_collections.kedaops.aks.plugins.module_utils._diff import diff
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError, failure

if TYPE_CHECKING:
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_token_cache import RunCache
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api

Plan = TypeVar("Plan")

# The least each module's waiting option may be, in seconds: a wait of 0 or less could only fail (or, for
# the ARM poller, wait for ever); ``wait_timeout`` 0 means "do not wait" (workload_identity_info).
TIMEOUT_MINIMUM = {"timeout": 1, "credential_timeout": 1, "wait_timeout": 0}

# The keys argument-spec validation takes besides the spec (AnsibleModule's and ArgumentSpecValidator's names).
SPEC_RULES = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


@dataclass
class Outcome:
    """What an apply did, or would do in check mode."""

    changed: bool
    before: Any = None
    after: Any = None
    warnings: list[str] = field(default_factory=list)
    # state absent found an object not ours (no managed-by mark) and left it.
    kept: bool = False
    # Keys of ``after`` whose null means "assigned by the apply" (check mode), shown as known after apply.
    computed: tuple[str, ...] = ()
    # The module's own result keys (``cluster``, ``service_account``, ``items``...).
    values: dict[str, Any] = field(default_factory=dict)
    # Read-only modules return no diff.
    diffable: bool = True

    def diff_result(self) -> Any:
        """The ``diff`` result value: one before/after pair (a bulk module's outcome may give one per item)."""
        return diff(self.before, self.after, self.computed)


def result(outcome: Outcome, want_diff: bool) -> dict[str, Any]:
    """The module result of an outcome: ``changed``, its values, ``diff`` on request, ``warnings``."""
    out: dict[str, Any] = {"changed": outcome.changed, **outcome.values}
    if want_diff and outcome.diffable:
        out["diff"] = outcome.diff_result()
    if outcome.warnings:
        out["warnings"] = list(outcome.warnings)
    return out


class Connection:
    """What ``apply`` talks through: the Azure and the Kubernetes connection the task's options name, each
    opened on first use. ``run``: the controller shell's per-run cache (token and cloud metadata)."""

    def __init__(self, params: dict[str, Any], run: RunCache | None = None):
        self.params = params
        self.run = run
        self._azure: AzureConnection | None = None
        self._k8s: Api | None = None

    @classmethod
    def of(cls, *, azure: AzureConnection | None = None, k8s: Api | None = None) -> Connection:
        """A connection over ones already open (a bulk module's items, tests)."""
        connection = cls({})
        connection._azure, connection._k8s = azure, k8s
        return connection

    @property
    def azure(self) -> AzureConnection:
        """The Azure connection (credential, cloud, clients); nothing is sent until a client is used."""
        if self._azure is None:
            from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth
            from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
            self._azure = AzureConnection(AzureAuth.from_params(self.params), run=self.run)
        return self._azure

    @property
    def k8s(self) -> Api:
        """The Kubernetes API of the cluster the options point at; nothing is sent until a call."""
        if self._k8s is None:
            from ansible_collections.kedaops.aks.plugins.module_utils._errors import ConfigError
            from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api
            from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import connect
            try:
                transport = connect(self.params)
            except ImportError as error:
                raise ConfigError(f"the kubernetes Python library is required on the host that runs the task "
                                  f"(pip install kubernetes): {error}") from error
            self._k8s = Api(transport)
        return self._k8s

    def wrote(self) -> bool:
        """Whether Azure or Kubernetes accepted a write (dry runs and token requests aside)."""
        return bool((self._azure is not None and self._azure.writes) or (self._k8s is not None and self._k8s.writes))


@dataclass(frozen=True)
class Resource(Generic[Plan]):
    """A module's core: what it takes, how input becomes a plan, how a plan is applied."""

    name: str
    argument_spec: dict[str, Any]
    build: Callable[[dict[str, Any]], Plan]
    apply: Callable[[Connection, Plan, bool], Outcome]
    azure: bool = False
    k8s: bool = False
    supports_check_mode: bool = True
    # mutually_exclusive, required_if, ... as AnsibleModule takes them.
    rules: dict[str, Any] = field(default_factory=dict)

    def full_spec(self) -> dict[str, Any]:
        """The argument spec with the shared auth options of the towers it talks to."""
        spec: dict[str, Any] = {}
        if self.azure:
            from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import azure_auth_argspec
            spec.update(azure_auth_argspec())
        if self.k8s:
            from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import AUTH_ARGSPEC
            spec.update(AUTH_ARGSPEC)
        spec.update(self.argument_spec)
        return spec


def check_timeouts(params: dict[str, Any]) -> None:
    for option, least in TIMEOUT_MINIMUM.items():
        value = params.get(option)
        if isinstance(value, int) and value < least:
            raise OptionError(f"{option}: {value} must be at least {least} (seconds)")


def execute(resource: Resource[Any], params: dict[str, Any], *, check_mode: bool, want_diff: bool,
            run: RunCache | None = None) -> dict[str, Any]:
    """One task: build the plan (every refusal before a connection is opened), apply it, and return the
    module result -- or the failure result (``failed``) of an error of the collection's family, with
    ``changed`` when something was written before it. Any other error is a bug and propagates."""
    connection: Connection | None = None
    try:
        check_timeouts(params)
        plan = resource.build(params)
        connection = Connection(params, run)
        outcome = resource.apply(connection, plan, check_mode)
    except Exception as error:  # pylint: disable=broad-except
        failed = failure(error)
        if failed is None:
            raise
        # Something written before the failure (an earlier item, a create that then timed out) is a change.
        failed.setdefault("changed", connection.wrote() if connection is not None else False)
        failed["failed"] = True
        return failed
    return result(outcome, want_diff)


def side_by_side(*reads: Callable[[], Any]) -> list[Any]:
    """Independent reads run concurrently, their answers in the order given (the first error raised).
    Build what the reads share (clients, a token) before: two threads importing one package at once can
    meet it half-initialised. Real ARM latency is then paid once per step, not once per object."""
    if len(reads) < 2:
        return [read() for read in reads]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(reads)), thread_name_prefix="kedaops-read") as pool:
        futures = [pool.submit(read) for read in reads]
        return [future.result() for future in futures]
