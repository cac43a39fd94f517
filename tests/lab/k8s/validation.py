"""Validation of built-in kinds (pkg/apis/*/validation), producing field errors for 422 Invalid.

Covered: object names per kind (DNS-1123 subdomain / label, DNS-1035 label for Services, path
segment names for RBAC, ``<plural>.<group>`` for CRDs), label and annotation keys and values,
containers (name, image, duplicates), workload selectors vs template labels, replicas, restart
policies (Deployments ``Always``, Jobs ``OnFailure|Never``), Service ports and types,
Secret/ConfigMap keys and ``immutable``, immutable selectors and Job templates on update, and
the structural rules for CustomResourceDefinitions that keep the emulator consistent.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import errors as e
from .resources import ResourceType
from .selectors import label_selector_matches

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

MSG_SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                 "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
MSG_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
             "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
MSG_DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
               "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
               "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
MSG_QUALIFIED = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                 "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
MSG_LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
                   "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                   "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
MSG_CONFIG_KEY = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
                  "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")

_RBAC_GROUP = "rbac.authorization.k8s.io"
_WORKLOADS = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet")}


def _subdomain(field: str, value: str) -> list[e.FieldError]:
    found = []
    if len(value) > 253:
        found.append(e.invalid(field, value, "must be no more than 253 characters"))
    if not DNS1123_SUBDOMAIN.match(value):
        found.append(e.invalid(field, value, MSG_SUBDOMAIN))
    return found


def _label(field: str, value: str, pattern: re.Pattern[str] = DNS1123_LABEL, message: str = MSG_LABEL) -> list[e.FieldError]:
    found = []
    if len(value) > 63:
        found.append(e.invalid(field, value, "must be no more than 63 characters"))
    if not pattern.match(value):
        found.append(e.invalid(field, value, message))
    return found


def name_errors(rt: ResourceType, name: str) -> list[e.FieldError]:
    field = "metadata.name"
    if rt.group == "" and rt.kind == "Namespace":
        return _label(field, name)
    if rt.group == "" and rt.kind == "Service":
        return _label(field, name, DNS1035_LABEL, MSG_DNS1035)
    if rt.group == _RBAC_GROUP:
        # path.IsValidPathSegmentName
        if name in (".", ".."):
            return [e.invalid(field, name, f"may not be '{name}'")]
        for bad in ("/", "%"):
            if bad in name:
                return [e.invalid(field, name, f"may not contain '{bad}'")]
        return []
    return _subdomain(field, name)


def _qualified_key(field: str, key: str) -> list[e.FieldError]:
    prefix, _slash, name = key.rpartition("/")
    found = []
    if "/" in key and not prefix:
        found.append(e.invalid(field, key, "prefix part must be non-empty"))
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        found.append(e.invalid(field, key, "prefix part " + MSG_SUBDOMAIN))
    if not name:
        found.append(e.invalid(field, key, "name part must be non-empty"))
    elif len(name) > 63:
        found.append(e.invalid(field, key, "name part must be no more than 63 characters"))
    elif not _QUALIFIED_NAME.match(name):
        found.append(e.invalid(field, key, MSG_QUALIFIED))
    return found


def metadata_errors(meta: dict[str, Any]) -> list[e.FieldError]:
    found: list[e.FieldError] = []
    for key, value in (meta.get("labels") or {}).items():
        found += _qualified_key("metadata.labels", key)
        if len(value) > 63:
            found.append(e.invalid("metadata.labels", value, "must be no more than 63 characters"))
        elif not _LABEL_VALUE.match(value):
            found.append(e.invalid("metadata.labels", value, MSG_LABEL_VALUE))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        found += _qualified_key("metadata.annotations", key.lower())
    if sum(len(k) + len(v) for k, v in annotations.items()) > 256 * 1024:
        found.append(e.FieldError("metadata.annotations", "FieldValueTooLong", "Too long: must have at most 262144 bytes"))
    return found


def _containers(spec: dict[str, Any], path: str) -> list[e.FieldError]:
    found: list[e.FieldError] = []
    containers = spec.get("containers")
    if not containers:
        found.append(e.required(f"{path}.containers"))
    seen: set[str] = set()
    for key in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(key) or []):
            where = f"{path}.{key}[{index}]"
            if not isinstance(container, dict):
                found.append(e.invalid(where, container, "must be an object"))
                continue
            name = container.get("name")
            if not name:
                found.append(e.required(f"{where}.name"))
            else:
                found += _label(f"{where}.name", name)
                if name in seen:
                    found.append(e.duplicate(f"{where}.name", name))
                seen.add(name)
            if not container.get("image") and key == "containers":
                found.append(e.required(f"{where}.image"))
            for pindex, port in enumerate(container.get("ports") or []):
                number = (port or {}).get("containerPort")
                if not isinstance(number, int) or not 1 <= number <= 65535:
                    found.append(e.invalid(f"{where}.ports[{pindex}].containerPort", number,
                                           "must be between 1 and 65535, inclusive"))
    policy = spec.get("restartPolicy")
    if policy not in (None, "Always", "OnFailure", "Never"):
        found.append(e.not_supported(f"{path}.restartPolicy", policy, ["Always", "OnFailure", "Never"]))
    return found


def go_map(labels: dict[str, str] | None) -> str:
    if labels is None:
        return "map[string]string(nil)"
    return "map[string]string{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(labels.items())) + "}"


def go_selector(selector: dict[str, Any] | None) -> str:
    selector = selector or {}
    expressions = selector.get("matchExpressions")
    rendered = "[]v1.LabelSelectorRequirement(nil)" if not expressions else json.dumps(expressions)
    return f"v1.LabelSelector{{MatchLabels:{go_map(selector.get('matchLabels'))}, MatchExpressions:{rendered}}}"


def _workload(rt: ResourceType, obj: dict[str, Any]) -> list[e.FieldError]:
    found: list[e.FieldError] = []
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [e.required("spec")]
    selector = spec.get("selector")
    if selector is None:
        found.append(e.required("spec.selector"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        found.append(e.invalid("spec.selector", go_selector(selector), f"empty selector is invalid for {rt.singular}"))
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        found.append(e.invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    template = spec.get("template")
    if not isinstance(template, dict):
        found.append(e.required("spec.template"))
        return found
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector and (selector.get("matchLabels") or selector.get("matchExpressions")) \
            and not label_selector_matches(selector, labels):
        found.append(e.invalid("spec.template.metadata.labels", go_map(labels), "`selector` does not match template `labels`"))
    pod = template.get("spec")
    if not isinstance(pod, dict):
        found.append(e.required("spec.template.spec"))
        return found
    found += _containers(pod, "spec.template.spec")
    if rt.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and pod.get("restartPolicy") not in (None, "Always"):
        found.append(e.not_supported("spec.template.spec.restartPolicy", pod.get("restartPolicy"), ["Always"]))
    return found


def _service(obj: dict[str, Any]) -> list[e.FieldError]:
    found: list[e.FieldError] = []
    spec = obj.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
    if kind not in types:
        found.append(e.not_supported("spec.type", kind, types))
    ports = spec.get("ports") or []
    if kind != "ExternalName" and spec.get("clusterIP") != "None" and not ports:
        found.append(e.required("spec.ports"))
    names: set[str] = set()
    for index, port in enumerate(ports):
        number = (port or {}).get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            found.append(e.invalid(f"spec.ports[{index}].port", number, "must be between 1 and 65535, inclusive"))
        name = (port or {}).get("name")
        if len(ports) > 1 and not name:
            found.append(e.required(f"spec.ports[{index}].name"))
        if name:
            if name in names:
                found.append(e.duplicate(f"spec.ports[{index}].name", name))
            names.add(name)
    if kind == "ExternalName" and not spec.get("externalName"):
        found.append(e.required("spec.externalName"))
    return found


def _keyed_data(obj: dict[str, Any], fields: tuple[str, ...]) -> list[e.FieldError]:
    found: list[e.FieldError] = []
    for field in fields:
        for key in obj.get(field) or {}:
            if not _CONFIG_KEY.match(key):
                found.append(e.invalid(f"{field}[{key}]", key, MSG_CONFIG_KEY))
    return found


def _crd(obj: dict[str, Any]) -> list[e.FieldError]:
    found: list[e.FieldError] = []
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    plural = names.get("plural") or ""
    name = (obj.get("metadata") or {}).get("name", "")
    if name != f"{plural}.{group}":
        found.append(e.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        found.append(e.required("spec.group"))
    elif "." not in group:
        found.append(e.invalid("spec.group", group, "should be a domain with at least one dot"))
    for field in ("plural", "kind"):
        if not names.get(field):
            found.append(e.required(f"spec.names.{field}"))
    if names.get("plural") and not DNS1123_LABEL.match(names["plural"]):
        found.append(e.invalid("spec.names.plural", names["plural"], MSG_LABEL))
    scope = spec.get("scope")
    if scope not in ("Namespaced", "Cluster"):
        found.append(e.not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))
    versions = spec.get("versions") or []
    if not versions:
        found.append(e.invalid("spec.versions", versions, "must have exactly one version marked as storage version"))
    storage = [v for v in versions if v.get("storage")]
    if versions and len(storage) != 1:
        found.append(e.invalid("spec.versions", [v.get("name") for v in storage],
                               "must have exactly one version marked as storage version"))
    seen: set[str] = set()
    for index, version in enumerate(versions):
        vname = version.get("name") or ""
        if not vname:
            found.append(e.required(f"spec.versions[{index}].name"))
        elif not DNS1035_LABEL.match(vname):
            found.append(e.invalid(f"spec.versions[{index}].name", vname, MSG_DNS1035))
        if vname in seen:
            found.append(e.invalid("spec.versions", vname, "must contain unique version names"))
        seen.add(vname)
        if not (version.get("schema") or {}).get("openAPIV3Schema"):
            found.append(e.required(f"spec.versions[{index}].schema.openAPIV3Schema", "schemas are required"))
    return found


def validate(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[e.FieldError]:
    """Field errors for a built-in object about to be stored (``old`` on update)."""
    found: list[e.FieldError] = []
    meta = obj.get("metadata") or {}
    if not meta.get("name"):
        found.append(e.required("metadata.name", "name or generateName is required"))
    elif old is None or meta.get("name") != (old.get("metadata") or {}).get("name"):
        found += name_errors(rt, meta["name"])
    found += metadata_errors(meta)
    if not rt.builtin:
        return found
    key = (rt.group, rt.kind)
    if key == ("", "Pod"):
        found += _containers(obj.get("spec") or {}, "spec")
    elif key in _WORKLOADS:
        found += _workload(rt, obj)
        if old is not None and (obj.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
            found.append(e.invalid("spec.selector", go_selector((obj.get("spec") or {}).get("selector")), "field is immutable"))
    elif key == ("batch", "Job"):
        spec = obj.get("spec") or {}
        template = spec.get("template") or {}
        found += _containers(template.get("spec") or {}, "spec.template.spec")
        policy = (template.get("spec") or {}).get("restartPolicy")
        if policy not in ("OnFailure", "Never"):
            found.append(e.not_supported("spec.template.spec.restartPolicy", policy, ["OnFailure", "Never"]))
        if old is not None and template != ((old.get("spec") or {}).get("template") or {}):
            found.append(e.invalid("spec.template", "core.PodTemplateSpec{...}", "field is immutable"))
    elif key == ("", "Service"):
        found += _service(obj)
    elif key in (("", "Secret"), ("", "ConfigMap")):
        found += _keyed_data(obj, ("data", "stringData", "binaryData"))
        if old is not None and old.get("immutable"):
            for field in ("data", "binaryData"):
                if obj.get(field) != old.get(field):
                    found.append(e.forbidden_field(field, "field is immutable when `immutable` is set"))
            if not obj.get("immutable"):
                found.append(e.forbidden_field("immutable", "field is immutable when `immutable` is set"))
        if key == ("", "Secret") and old is not None and obj.get("type") != old.get("type"):
            found.append(e.invalid("type", obj.get("type"), "field is immutable"))
    elif key == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        found += _crd(obj)
        if old is not None:
            for field in ("group",):
                if (obj.get("spec") or {}).get(field) != (old.get("spec") or {}).get(field):
                    found.append(e.invalid(f"spec.{field}", (obj.get("spec") or {}).get(field), "field is immutable"))
    return found
