# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every string option of every module, fed a hostile corpus, addresses only what it names.

Each module's real ``main()`` runs in-process (ansible's own ``patch_module_args``), in check mode,
against the lab; the lab's request log is the witness. The options come from the modules' argument
specs (auth options, suboptions and list items included), and each must be classified here: a
``SEGMENT`` option names a resource, so a hostile value may reach the lab only as one whole decoded path
segment standing where the baseline's value stood; a ``VALUE`` option never appears in a path, so a
hostile value may only lead to requests the baseline made too. Either way every case is refused before
any request or sent encoded to exactly the resource it names -- never a request to another path -- and
ends in a module result (``exit_json`` / ``fail_json``), not a traceback.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import json
import os
import pkgutil
import tempfile
import urllib.parse
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

import ansible_collections.kedaops.aks.plugins.modules as modules_package
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_auth, _core
from lab import ids

CORPUS = [
    "..", "a/../../x", "./x", "a/b", "%2F", "%2e%2e", "%252F", " leading", "trailing ", "trailing-newline\n",
    "tab\tbed", "nul\x00esc\x1b[0m", "ä", "\u200fright-to-left", "zero\u200bwidth", "x" * 1000,
]

SEGMENT, VALUE = "segment", "value"
SUB, RG = ids.SUBSCRIPTION_ID, ids.RESOURCE_GROUP
# cluster_access writes the kubeconfig it fetched: a private directory of this test run's user.
ACCESS_DIR = os.path.join(tempfile.gettempdir(), f"kedaops-corpus-access-{os.getuid()}")
ISSUER = "https://issuer.example/tenant/"
SUBJECT = "system:serviceaccount:keda:keda-operator"
GUID = "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ServiceBus/namespaces/{ids.SERVICEBUS_NAMESPACE_NAME}"
TRIGGER = {"type": "azure-servicebus", "name": "orders-trigger", "metadata": {"queueName": "orders"},
           "authentication_ref": {"name": "azure-workload"}}
SCALE_TARGET = {"name": "worker", "kind": "Deployment", "api_version": "apps/v1", "env_source_container_name": "app"}
JOB_TARGET = {"template": {"spec": {"containers": [{"name": "app", "image": "busybox"}]}}}
SCALED_JOB = {"name": "worker-job", "namespace": "keda", "job_target": JOB_TARGET,
              "env_source_container_name": "app", "triggers": [TRIGGER],
              "scaling_strategy": {"custom_scaling_running_job_percentage": "0.5", "pending_pod_conditions": ["Ready"]}}
SCALED_OBJECT = {"name": "worker", "namespace": "keda", "scale_target": SCALE_TARGET, "triggers": [TRIGGER],
                 "advanced": {"scalingModifiers": {"formula": "orders-trigger"}}}
TRIGGER_AUTH = {"name": "azure-workload", "namespace": "keda", "identity_id": GUID, "identity_tenant_id": ids.TENANT_ID,
                "identity_authority_host": "https://login.microsoftonline.com/"}
SERVICE_ACCOUNT = {"name": "worker", "namespace": "keda", "client_id": GUID, "tenant_id": ids.TENANT_ID,
                   "labels": {"team": "a"}}

# Each module's baseline: arguments a user would give, every SEGMENT option among them. Options that exclude
# each other have a second baseline (``VARIANTS``); what either baseline requests is allowed.
BASE: dict[str, dict[str, Any]] = {
    "aks_cluster": {"resource_group": RG, "name": ids.AKS_NAME},
    "cluster_access": {"resource_group": RG, "name": ids.AKS_NAME, "dest_dir": ACCESS_DIR},
    "connected_cluster": {"resource_group": RG, "name": "arc-cluster", "oidc_issuer": True,
                          "self_hosted_issuer_url": ISSUER},
    "federated_credential": {"resource_group": RG, "identity_name": "id-corpus", "name": "fic-corpus",
                             "issuer": ISSUER, "subject": SUBJECT},
    "keda_objects": {"service_accounts": [SERVICE_ACCOUNT], "trigger_auths": [TRIGGER_AUTH],
                     "scaled_objects": [SCALED_OBJECT], "scaled_jobs": [SCALED_JOB]},
    "keda_scaled_job": SCALED_JOB,
    "keda_scaled_object": SCALED_OBJECT,
    "keda_trigger_auth": TRIGGER_AUTH,
    "managed_identity": {"resource_group": RG, "name": "id-corpus", "location": ids.LOCATION, "tags": {"team": "a"},
                         "federated_credentials": [{"name": "fic-a", "issuer": ISSUER, "subject": SUBJECT},
                                                   {"name": "fic-b", "state": "absent"}]},
    "managed_identity_info": {"resource_group": RG, "name": "id-corpus"},
    "caller_permissions_info": {"checks": [{"scope": SCOPE, "actions": ["Microsoft.Authorization/roleAssignments/write"]},
                                           {"resource_group": RG,
                                            "actions": ["Microsoft.ManagedIdentity/userAssignedIdentities/write"]}]},
    "monitor_workspace": {"resource_group": RG, "name": ids.MONITOR_WORKSPACE_NAME, "location": ids.LOCATION,
                          "tags": {"team": "a"}, "creation_tags": {"team": "a"}},
    "role_assignment": {"scope": SCOPE, "role": "Reader", "principal_id": ids.AUTOMATION_PRINCIPAL_ID},
    "keda_operator_info": {"namespace": "keda"},
    "rollout_restart": {"namespace": "keda", "name": "keda-operator", "unless_env_present": ["AZURE_CLIENT_ID"],
                        "unless_env_matches_service_account": {"AZURE_CLIENT_ID": "azure.workload.identity/client-id"}},
    "servicebus_namespace": {"resource_group": RG, "name": ids.SERVICEBUS_NAMESPACE_NAME, "location": ids.LOCATION,
                             "tags": {"team": "a"}, "creation_tags": {"team": "a"},
                             "queues": [{"name": "orders", "lock_duration": "PT1M",
                                         "default_message_time_to_live": "P1D"}, {"name": "drained", "state": "absent"}]},
    "servicebus_queue": {"resource_group": RG, "namespace": ids.SERVICEBUS_NAMESPACE_NAME, "name": "orders",
                         "lock_duration": "PT1M", "default_message_time_to_live": "P1D"},
    "workload_bindings": {"resource_group": RG, "issuer": ISSUER, "audiences": ["api://AzureADTokenExchange"],
                          "bindings": [{"namespace": "team-a", "service_account": "worker", "identity": "id-corpus",
                                        "identity_resource_group": RG, "credential_name": "fic-corpus",
                                        "service_account_labels": {"team": "a"},
                                        "trigger_auth": {"name": "azure-workload", "identity_tenant_id": ids.TENANT_ID,
                                                         "identity_authority_host": "https://login.microsoftonline.com/"},
                                        "scaled_object": {"name": "worker", "scale_target": SCALE_TARGET,
                                                          "triggers": [TRIGGER], "advanced": {"x": "y"}},
                                        "role_assignments": [{"scope": SCOPE, "role": "Reader"}]}]},
    "workload_identity_info": {"cluster_resource_group": RG, "cluster_name": ids.AKS_NAME,
                               "identity_resource_group": RG, "identity_name": "id-corpus",
                               "operator_namespace": "keda", "operator_service_account": "keda-operator",
                               "scalers": [{"name": "worker", "namespace": "keda"}],
                               "trigger_auths": [{"name": "azure-workload", "namespace": "keda"}],
                               "role_assignments": [{"scope": SCOPE, "role": "Reader"}]},
    "workload_sa": SERVICE_ACCOUNT,
}

VARIANTS: dict[str, dict[str, Any]] = {
    # A queue that does not exist yet: its namespace is read first (what a hostile name that misses the queue does).
    "servicebus_queue": {"drop": ("name",), "add": {"name": "orders-not-yet"}},
    "monitor_workspace": {"drop": ("location", "tags", "creation_tags"),
                          "add": {"state": "absent", "require_tags": {"team": "a"}}},
    # The options that only mean something with state: absent (a present baseline would be refused at once).
    "managed_identity": {"drop": ("location", "tags", "federated_credentials"),
                         "add": {"state": "absent", "owned_credentials": ["fic-a"]}},
    "servicebus_namespace": {"drop": ("location", "tags", "creation_tags", "queues"),
                             "add": {"state": "absent", "require_tags": {"team": "a"}, "owned_queues": ["orders"]}},
    "workload_identity_info": {"drop": ("cluster_resource_group", "cluster_name", "identity_resource_group",
                                        "identity_name"),
                               "add": {"issuer_url": ISSUER, "identity_client_id": GUID}},
}

AZURE_AUTH = {"subscription_id": SEGMENT, "auth_source": VALUE, "tenant": SEGMENT, "client_id": VALUE,
              "secret": VALUE, "cloud_environment": VALUE, "authority_host": VALUE}
K8S_AUTH = {"kubeconfig": VALUE, "context": VALUE, "host": VALUE, "api_key": VALUE, "ca_cert": VALUE,
            "client_cert": VALUE, "client_key": VALUE}
# Options of the Kubernetes modules: the object's name and namespace are its path; the rest is its body.
K8S_SEGMENTS = {"name", "namespace"}
TRIGGER_OPTIONS = {"triggers[].type": VALUE, "triggers[].metadata{}": VALUE, "triggers[].name": VALUE,
                   "triggers[].metric_type": VALUE, "triggers[].authentication_ref.name": VALUE,
                   "triggers[].authentication_ref.kind": VALUE}
SCALED_OBJECT_OPTIONS = {"scale_target.name": VALUE, "scale_target.kind": VALUE, "scale_target.api_version": VALUE,
                         "scale_target.env_source_container_name": VALUE, "fallback.behavior": VALUE,
                         "advanced{}": VALUE, **TRIGGER_OPTIONS}
SCALED_JOB_OPTIONS = {"job_target{}": VALUE, "env_source_container_name": VALUE, "scaling_strategy.strategy": VALUE,
                      "scaling_strategy.custom_scaling_running_job_percentage": VALUE,
                      "scaling_strategy.pending_pod_conditions[]": VALUE,
                      "scaling_strategy.multiple_scalers_calculation": VALUE, "rollout.strategy": VALUE,
                      "rollout.propagation_policy": VALUE, **TRIGGER_OPTIONS}
TRIGGER_AUTH_OPTIONS = {"kind": VALUE, "provider": VALUE, "identity_id": VALUE, "identity_tenant_id": VALUE,
                        "identity_authority_host": VALUE}
SERVICE_ACCOUNT_OPTIONS = {"client_id": VALUE, "tenant_id": VALUE, "labels{}": VALUE}


def k8s_item(options: dict[str, str]) -> dict[str, str]:
    return {"name": SEGMENT, "namespace": SEGMENT, "state": VALUE, **options}


def prefixed(prefix: str, options: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}.{key}": kind for key, kind in options.items()}


# Every string option (``a.b`` suboption, ``a[]`` list item, ``a[].b`` a list item's suboption, ``a{}`` a
# free-form dict's string values), classified. A new option fails the test until it is added here.
CLASSIFIED: dict[str, dict[str, str]] = {
    "aks_cluster": {"resource_group": SEGMENT, "name": SEGMENT},
    "cluster_access": {"kind": VALUE, "resource_group": SEGMENT, "name": SEGMENT, "kubeconfig": VALUE, "access": VALUE,
                       "dest_dir": VALUE},
    "connected_cluster": {"resource_group": SEGMENT, "name": SEGMENT, "self_hosted_issuer_url": VALUE},
    "federated_credential": {"resource_group": SEGMENT, "identity_name": SEGMENT, "name": SEGMENT, "issuer": VALUE,
                             "subject": VALUE, "namespace": VALUE, "service_account": VALUE, "audiences[]": VALUE,
                             "state": VALUE},
    "keda_objects": {**prefixed("service_accounts[]", k8s_item(SERVICE_ACCOUNT_OPTIONS)),
                     **prefixed("trigger_auths[]", k8s_item(TRIGGER_AUTH_OPTIONS)),
                     **prefixed("scaled_objects[]", k8s_item(SCALED_OBJECT_OPTIONS)),
                     **prefixed("scaled_jobs[]", k8s_item(SCALED_JOB_OPTIONS))},
    "keda_scaled_job": k8s_item(SCALED_JOB_OPTIONS),
    "keda_scaled_object": k8s_item(SCALED_OBJECT_OPTIONS),
    "keda_trigger_auth": k8s_item(TRIGGER_AUTH_OPTIONS),
    "managed_identity": {"resource_group": SEGMENT, "name": SEGMENT, "location": VALUE, "tags{}": VALUE,
                         "state": VALUE, "owned_credentials[]": SEGMENT, "federated_credentials[].name": SEGMENT,
                         "federated_credentials[].issuer": VALUE, "federated_credentials[].subject": VALUE,
                         "federated_credentials[].namespace": VALUE, "federated_credentials[].service_account": VALUE,
                         "federated_credentials[].audiences[]": VALUE, "federated_credentials[].state": VALUE},
    "caller_permissions_info": {"checks[].scope": SEGMENT, "checks[].resource_group": SEGMENT,
                                "checks[].actions[]": VALUE},
    "managed_identity_info": {"resource_group": SEGMENT, "name": SEGMENT},
    "monitor_workspace": {"resource_group": SEGMENT, "name": SEGMENT, "location": VALUE, "tags{}": VALUE,
                          "creation_tags{}": VALUE, "require_tags{}": VALUE, "state": VALUE},
    "role_assignment": {"scope": SEGMENT, "role": VALUE, "principal_id": VALUE, "principal_type": VALUE,
                        "state": VALUE},
    "keda_operator_info": {"namespace": SEGMENT},
    "rollout_restart": {"namespace": SEGMENT, "name": SEGMENT, "kind": VALUE, "unless_env_present[]": VALUE,
                        "unless_env_matches_service_account{}": VALUE},
    "servicebus_namespace": {"resource_group": SEGMENT, "name": SEGMENT, "location": VALUE, "sku": VALUE,
                             "tags{}": VALUE, "creation_tags{}": VALUE, "require_tags{}": VALUE, "state": VALUE,
                             "queues[].name": SEGMENT, "queues[].lock_duration": VALUE,
                             "queues[].default_message_time_to_live": VALUE, "queues[].state": VALUE,
                             "owned_queues[]": SEGMENT},
    "servicebus_queue": {"resource_group": SEGMENT, "namespace": SEGMENT, "name": SEGMENT, "lock_duration": VALUE,
                         "default_message_time_to_live": VALUE, "state": VALUE},
    "workload_bindings": {
        "resource_group": SEGMENT, "issuer": VALUE, "audiences[]": VALUE, "list_scope": VALUE,
        "bindings[].namespace": SEGMENT, "bindings[].service_account": SEGMENT, "bindings[].identity": SEGMENT,
        "bindings[].identity_resource_group": SEGMENT, "bindings[].credential_name": SEGMENT,
        "bindings[].service_account_labels{}": VALUE, "bindings[].trigger_auth.name": SEGMENT,
        "bindings[].trigger_auth.identity_tenant_id": VALUE, "bindings[].trigger_auth.identity_authority_host": VALUE,
        "bindings[].scaled_object.name": SEGMENT,
        **prefixed("bindings[].scaled_object", dict(SCALED_OBJECT_OPTIONS)),
        "bindings[].role_assignments[].scope": SEGMENT, "bindings[].role_assignments[].role": VALUE,
        "bindings[].state": VALUE},
    "workload_identity_info": {
        "cluster_resource_group": SEGMENT, "cluster_name": SEGMENT, "cluster_kind": VALUE, "issuer_url": VALUE,
        "identity_resource_group": SEGMENT, "identity_name": SEGMENT, "identity_client_id": VALUE,
        "operator_namespace": SEGMENT, "operator_service_account": SEGMENT, "scalers[].kind": VALUE,
        "scalers[].name": SEGMENT, "scalers[].namespace": SEGMENT, "trigger_auths[].kind": VALUE,
        "trigger_auths[].name": SEGMENT, "trigger_auths[].namespace": SEGMENT, "role_assignments[].scope": SEGMENT,
        "role_assignments[].role": VALUE},
    "workload_sa": k8s_item(SERVICE_ACCOUNT_OPTIONS),
}


def module_specs() -> dict[str, dict[str, Any]]:
    """Each module's whole argument spec, as both shells validate with it (``RESOURCE.full_spec()``: the
    auth options merged in)."""
    specs: dict[str, dict[str, Any]] = {}
    for info in pkgutil.iter_modules(modules_package.__path__):
        module = importlib.import_module(f"{modules_package.__name__}.{info.name}")
        specs[info.name] = module.RESOURCE.full_spec()
    if "keda_objects" in specs:
        kinds = importlib.import_module("ansible_collections.kedaops.aks.plugins.module_utils._keda_objects").KINDS
        for option, kind in kinds.items():
            specs["keda_objects"][option] = {**specs["keda_objects"][option], "options": kind.spec}
    return specs


AZURE_AUTH_SPEC = _azure_auth.azure_auth_argspec()


def string_options(spec: dict[str, Any], prefix: str = "") -> list[str]:
    """The option paths of every string a user can give (see ``CLASSIFIED``)."""
    found: list[str] = []
    for name, option in spec.items():
        kind, elements = option.get("type", "str"), option.get("elements")
        here = f"{prefix}{name}"
        if kind in ("str", "path", "raw"):
            found.append(here)
        elif kind == "list" and elements in ("str", "path", "raw"):
            found.append(here + "[]")
        elif kind == "list" and elements == "dict" and option.get("options"):
            found += string_options(option["options"], here + "[].")
        elif kind == "dict" and option.get("options"):
            found += string_options(option["options"], here + ".")
        elif kind == "dict":
            found.append(here + "{}")
    return found


def with_value(args: dict[str, Any], path: str, value: str) -> tuple[dict[str, Any], Any]:
    """``args`` with the string at ``path`` replaced by ``value``; and the value it replaced (None if unset)."""
    args = copy.deepcopy(args)
    node: Any = args
    parts = path.split(".")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        name = part.rstrip("[]{}")
        if part.endswith("[]"):
            items = node.setdefault(name, [{}] if not last else [None])
            if not items:
                items.append({} if not last else None)
            if last:
                before, items[0] = items[0], value
                return args, before
            node = items[0]
        elif part.endswith("{}"):
            mapping = node.setdefault(name, {}) or {}
            node[name] = mapping
            key = next(iter(mapping), "corpus")
            before, mapping[key] = mapping.get(key), value
            return args, before
        elif last:
            before, node[name] = node.get(name), value
            return args, before
        else:
            node = node.setdefault(name, {}) or {}
    raise AssertionError(path)


def run_module(name: str, args: dict[str, Any], check_mode: bool = True) -> dict[str, Any]:
    """The module's result, run as Ansible runs it (in check mode unless told); a traceback fails the test."""
    module = importlib.import_module(f"{modules_package.__name__}.{name}")
    out = io.StringIO()
    with patch_module_args({**args, "_ansible_check_mode": check_mode}), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    return json.loads(out.getvalue().strip().splitlines()[-1])


class RequestLog:
    """The lab's request log from a mark on: read in-process when the lab runs in this process (two HTTPS
    control calls per case would cost more than most cases), else over its control endpoint."""

    def __init__(self, lab: Any):
        self.lab = lab
        self.mark = 0

    def clear(self) -> None:
        if self.lab.lab is not None:
            with self.lab.lab.lock:
                self.mark = len(self.lab.lab.requests)
        else:
            self.lab.clear_requests()

    def entries(self) -> list[dict[str, Any]]:
        if self.lab.lab is not None:
            with self.lab.lab.lock:
                return [e for e in self.lab.lab.requests[self.mark:] if not e.get("actor")]
        return self.lab.requests()


def request_paths(log: RequestLog) -> list[tuple[str, ...]]:
    """The decoded segments of every request the modules sent since the log was cleared."""
    paths = []
    for entry in log.entries():
        if entry["service"] == "control":
            continue
        raw = urllib.parse.urlsplit(entry["path"]).path
        paths.append(tuple(urllib.parse.unquote(segment) for segment in raw.split("/")[1:]))
    return paths


@pytest.fixture(scope="module")
def specs() -> dict[str, dict[str, Any]]:
    return module_specs()


@pytest.fixture
def lab_env(clean_lab, monkeypatch, tmp_path_factory):
    for variable, value in clean_lab.env.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("AZURE_FEDERATED_TOKEN_FILE", raising=False)
    # The documented opt-in run cache (docs/performance.md): a token and the cloud's endpoints are fetched
    # once for the hundreds of runs here, as for the tasks of one playbook run.
    monkeypatch.setenv("KEDAOPS_AZURE_TOKEN_CACHE", str(tmp_path_factory.mktemp("token-cache")))
    return clean_lab


def auth_base(name: str, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """The auth options as the environment gives them (so the baseline names the subscription and tenant)."""
    base: dict[str, Any] = {}
    if "subscription_id" in spec:
        base.update(subscription_id=env["AZURE_SUBSCRIPTION_ID"], tenant=env["AZURE_TENANT_ID"])
    return base


def test_every_string_option_is_classified(specs):
    unclassified = {name: sorted(set(string_options(spec)) - set(CLASSIFIED.get(name, {}))
                                 - set(AZURE_AUTH) - set(K8S_AUTH))
                    for name, spec in specs.items()}
    stale = {name: sorted(set(CLASSIFIED[name]) - set(string_options(spec))) for name, spec in specs.items()}
    assert not {k: v for k, v in unclassified.items() if v}, "classify these options in CLASSIFIED"
    assert not {k: v for k, v in stale.items() if v}, "these classified options no longer exist"
    assert set(specs) == set(BASE), "give every module a baseline in BASE"


@pytest.mark.parametrize("name", sorted(BASE))
def test_a_hostile_string_in_any_option_is_refused_or_reaches_only_what_it_names(name, specs, lab_env):
    spec = specs[name]
    classified = {**{k: v for k, v in AZURE_AUTH.items() if k in spec},
                  **{k: v for k, v in K8S_AUTH.items() if k in spec}, **CLASSIFIED[name]}
    bases = [{**auth_base(name, spec, lab_env.env), **BASE[name]}]
    if name in VARIANTS:
        variant = {k: v for k, v in bases[0].items() if k not in VARIANTS[name]["drop"]}
        bases.append({**variant, **VARIANTS[name]["add"]})
    log = RequestLog(lab_env)
    allowed: set[tuple[str, ...]] = set()
    for base in bases:
        log.clear()
        baseline = run_module(name, base)
        sent = set(request_paths(log))
        assert sent, f"{name}: the baseline sent nothing ({baseline.get('msg')})"
        allowed |= sent
    strays = []
    for option in string_options(spec):
        top = option.split(".")[0].rstrip("[]{}")
        base = next((b for b in bases if top in b), bases[0])
        for hostile in CORPUS:
            args, before = with_value(base, option, hostile)
            log.clear()
            result = run_module(name, args)
            for path in request_paths(log):
                named = path
                if classified[option] == SEGMENT and before is not None:
                    named = tuple(before if segment == hostile else segment for segment in path)
                if named not in allowed:
                    strays.append(f"{option}={hostile[:30]!r}: {'/'.join(path)[:200]} ({result.get('msg', '')[:120]})")
    assert not strays, "requests to paths the input does not name:\n" + "\n".join(strays[:40])


def test_a_negative_or_zero_timeout_is_refused_before_any_request(specs, lab_env):
    """Every module's waiting option (``_core.TIMEOUT_MINIMUM``), below its minimum, fails naming it."""
    log = RequestLog(lab_env)
    checked = []
    for name, spec in sorted(specs.items()):
        for option, least in _core.TIMEOUT_MINIMUM.items():
            if option not in spec:
                continue
            for value in (least - 1, -30):
                log.clear()
                result = run_module(name, {**auth_base(name, spec, lab_env.env), **BASE[name], option: value})
                assert result.get("failed") and result["msg"].startswith(f"{option}: {value} must be at least {least}")
                assert request_paths(log) == [], f"{name} {option}={value} sent a request"
            checked.append(f"{name}.{option}")
    assert len(checked) >= 10, checked


@pytest.mark.parametrize("name", ["a/../../" + ids.SERVICEBUS_NAMESPACE_NAME, "a%2F..%2F..%2F" + ids.SERVICEBUS_NAMESPACE_NAME])
def test_a_queue_name_with_dot_segments_never_deletes_its_namespace(lab_env, name):
    """Issue 23's first finding, applied for real: ``state=absent`` with such a name is refused, nothing is sent."""
    log = RequestLog(lab_env)
    log.clear()
    args = {**auth_base("servicebus_queue", {"subscription_id": {}}, lab_env.env), "resource_group": RG,
            "namespace": ids.SERVICEBUS_NAMESPACE_NAME, "name": name, "state": "absent"}
    result = run_module("servicebus_queue", args, check_mode=False)
    assert result.get("failed") and result["msg"].startswith("name: ")
    assert request_paths(log) == []
    namespace = run_module("servicebus_namespace", {**auth_base("servicebus_namespace", {"subscription_id": {}},
                                                                lab_env.env),
                                                    "resource_group": RG, "name": ids.SERVICEBUS_NAMESPACE_NAME,
                                                    "create": False})
    assert not namespace.get("failed") and namespace["namespace"]["name"] == ids.SERVICEBUS_NAMESPACE_NAME
