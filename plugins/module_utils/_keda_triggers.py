# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KEDA's ScaleTriggers (shared by ScaledObject and ScaledJob) built from typed options, with the
scalers' own rules checked first: ``pkg/scalers/prometheus_scaler.go`` and ``azure_servicebus_scaler.go``
at kedacore/keda v2.20.2, and the CRDs' ``map[string]string`` metadata."""

from __future__ import annotations

import math
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as validate
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError


def metadata_strings(option: str, metadata: Any) -> dict[str, str]:
    """KEDA's trigger metadata is map[string]string: YAML numbers and booleans become the
    strings a user would have quoted (100.5 -> "100.5", True -> "true"); strings stay as typed
    ('100.50' keeps its trailing zero)."""
    if not isinstance(metadata, dict) or not metadata:
        raise OptionError(f"{option}: must be a non-empty mapping of strings")
    result: dict[str, str] = {}
    for key, value in metadata.items():
        if value is None or isinstance(value, (dict, list)):
            raise OptionError(f"{option}.{key}: must be a string, number or boolean (KEDA metadata values are strings)")
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionError(f"{option}.{key}: {value} is not a finite number")
        result[str(key)] = validate.string_value(value)
    return result


def number(option: str, value: str) -> None:
    try:
        if not math.isfinite(float(value)):
            raise ValueError(value)
    except ValueError:
        raise OptionError(f"{option}: '{value}' is not a number") from None


def integer(option: str, value: str) -> None:
    try:
        int(value)
    except ValueError:
        raise OptionError(f"{option}: '{value}' is not an integer") from None


def _check_prometheus(option: str, metadata: dict[str, str], warnings: list[str]) -> None:
    if "metricName" in metadata:
        # kedacore/keda CHANGELOG v2.12.0, Breaking Changes: "Remove deprecated metricName from trigger metadata
        # section (#4899)"; pkg/scalers/prometheus_scaler.go no longer reads it, so it is silently ignored.
        warnings.append(f"{option}.metadata.metricName is ignored since KEDA 2.12 (removed, #4899); name the trigger "
                        "with the trigger's name option instead")
    for key in ("serverAddress", "query", "threshold"):
        if not metadata.get(key):
            raise OptionError(f"{option}.metadata.{key}: required by the prometheus scaler")
    if not metadata["serverAddress"].startswith(("http://", "https://")):
        raise OptionError(f"{option}.metadata.serverAddress: '{metadata['serverAddress']}' is not an http(s) URL")
    number(f"{option}.metadata.threshold", metadata["threshold"])
    if "activationThreshold" in metadata:
        number(f"{option}.metadata.activationThreshold", metadata["activationThreshold"])


def _check_servicebus(option: str, metadata: dict[str, str], has_auth_ref: bool, warnings: list[str]) -> None:
    queue, topic, subscription = metadata.get("queueName"), metadata.get("topicName"), metadata.get("subscriptionName")
    if queue and topic:
        raise OptionError(f"{option}.metadata: both topicName and queueName are set; an azure-servicebus trigger "
                          "watches one queue, or one topic subscription")
    if queue and subscription:
        raise OptionError(f"{option}.metadata.subscriptionName: only with topicName, not with queueName")
    if topic and not subscription:
        raise OptionError(f"{option}.metadata.subscriptionName: required with topicName")
    if not queue and not topic:
        raise OptionError(f"{option}.metadata: queueName, or topicName with subscriptionName, is required by the "
                          "azure-servicebus scaler")
    host = validate.servicebus_namespace_host_error(metadata.get("namespace") or "")
    if host:
        raise OptionError(f"{option}.metadata.namespace: {host}")
    for key in ("messageCount", "activationMessageCount"):
        if key in metadata:
            integer(f"{option}.metadata.{key}", metadata[key])
    if has_auth_ref and not metadata.get("namespace") and "connectionFromEnv" not in metadata:
        warnings.append(f"{option}.metadata.namespace is not set: with pod identity (azure-workload) KEDA needs the "
                        "Service Bus namespace name ('namespace are required when using pod identity')")


def build_triggers(option: str, triggers: list[dict[str, Any]] | None,
                   warnings: list[str]) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    if not triggers:
        raise OptionError(f"{option}: at least one trigger is required when state is present")
    built, refs = [], []
    for index, trigger in enumerate(triggers):
        where = f"{option}[{index}]"
        trigger_type = trigger.get("type") or ""
        if not trigger_type.strip():
            raise OptionError(f"{where}.type: required (for example prometheus or azure-servicebus)")
        metadata = metadata_strings(f"{where}.metadata", trigger.get("metadata"))
        entry: dict[str, Any] = {"type": trigger_type, "metadata": metadata}
        if trigger.get("name"):
            entry["name"] = trigger["name"]
        if trigger.get("metric_type"):
            entry["metricType"] = trigger["metric_type"]
        if trigger.get("use_cached_metrics") is not None:
            entry["useCachedMetrics"] = trigger["use_cached_metrics"]
        ref = trigger.get("authentication_ref")
        if ref:
            ref_name = validate.dns_subdomain(f"{where}.authentication_ref.name", ref.get("name") or "")
            entry["authenticationRef"] = {"name": ref_name}
            if ref.get("kind"):
                entry["authenticationRef"]["kind"] = ref["kind"]
            refs.append((f"{where}.authentication_ref", ref.get("kind") or "TriggerAuthentication", ref_name))
        if trigger_type == "prometheus":
            _check_prometheus(where, metadata, warnings)
        elif trigger_type == "azure-servicebus":
            _check_servicebus(where, metadata, bool(ref), warnings)
        built.append(entry)
    return built, refs


# The argument spec of KEDA's ScaleTriggers, shared by keda_scaled_object and keda_scaled_job.
TRIGGERS_ARGSPEC: dict[str, Any] = {
    "type": "list",
    "elements": "dict",
    "options": {
        "type": {"type": "str", "required": True},
        "metadata": {"type": "dict", "required": True},
        "name": {"type": "str"},
        "metric_type": {"type": "str", "choices": ["AverageValue", "Value", "Utilization"]},
        "use_cached_metrics": {"type": "bool"},
        "authentication_ref": {
            "type": "dict",
            "options": {
                "name": {"type": "str", "required": True},
                "kind": {"type": "str", "choices": ["TriggerAuthentication", "ClusterTriggerAuthentication"]},
            },
        },
    },
}
