"""Label and field selectors, with the grammar of k8s.io/apimachinery/pkg/labels and /fields.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a``, ``!a``,
``a>1``, ``a<1``, comma-separated (AND). Field selectors: ``f=v``, ``f==v``, ``f!=v`` over the
fields each kind's ``GetAttrs`` exposes; anything else is "field label not supported".
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .errors import bad_request

Requirement = Callable[[dict[str, str]], bool]

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET_RE = re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)\s*$")
_CMP_RE = re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|!=|=|>|<)\s*(?P<value>[^\s]*)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(?P<neg>!?)\s*(?P<key>{_KEY})\s*$")


def _split_top_level(selector: str) -> list[str]:
    """Split on commas that are not inside an ``in (...)`` value set."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _check_value(value: str, selector: str) -> None:
    if not re.fullmatch(_VALUE, value) or len(value) > 63:
        raise bad_request(
            f"unable to parse requirement: values[0][{selector}]: Invalid value: {value!r}: a valid label must be an "
            "empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character")


def parse_label_selector(selector: str | None) -> list[Requirement]:
    if not selector or not selector.strip():
        return []
    requirements: list[Requirement] = []
    for part in _split_top_level(selector):
        if not part.strip():
            raise bad_request(f"unable to parse requirement: found '', expected: identifier in selector {selector!r}")
        match = _SET_RE.match(part)
        if match:
            key = match.group("key")
            values = {v.strip() for v in match.group("values").split(",")}
            for value in values:
                _check_value(value, key)
            if match.group("op") == "in":
                requirements.append(_in(key, values))
            else:
                requirements.append(_not_in(key, values))
            continue
        match = _CMP_RE.match(part)
        if match:
            key, op, value = match.group("key"), match.group("op"), match.group("value")
            if op in (">", "<"):
                if not re.fullmatch(r"-?\d+", value):
                    raise bad_request(f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {value}")
                bound = int(value)
                requirements.append(_compare(key, bound, op == ">"))
                continue
            _check_value(value, key)
            if op == "!=":
                requirements.append(_not_equals(key, value))
            else:
                requirements.append(_equals(key, value))
            continue
        match = _EXISTS_RE.match(part)
        if match:
            key = match.group("key")
            if match.group("neg"):
                requirements.append(_lacks(key))
            else:
                requirements.append(_has(key))
            continue
        raise bad_request(f"unable to parse requirement: invalid label selector {selector!r}")
    return requirements


def _in(key: str, values: set[str]) -> Requirement:
    return lambda labels: key in labels and labels[key] in values


def _not_in(key: str, values: set[str]) -> Requirement:
    return lambda labels: key not in labels or labels[key] not in values


def _compare(key: str, bound: int, greater: bool) -> Requirement:
    def matches(labels: dict[str, str]) -> bool:
        number = _int(labels[key]) if key in labels else None
        return number is not None and (number > bound if greater else number < bound)
    return matches


def _equals(key: str, value: str) -> Requirement:
    return lambda labels: key in labels and labels[key] == value


def _not_equals(key: str, value: str) -> Requirement:
    return lambda labels: labels.get(key) != value


def _has(key: str) -> Requirement:
    return lambda labels: key in labels


def _lacks(key: str) -> Requirement:
    return lambda labels: key not in labels


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def labels_match(requirements: list[Requirement], obj: dict[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(req(labels) for req in requirements)


# Field selectors -------------------------------------------------------------------------------

def _get(obj: dict[str, Any], dotted: str) -> Any:
    current: Any = obj
    for part in dotted.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Extra selectable fields per (group, kind), from each registry's GetAttrs / field label conversion.
_KIND_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                  "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"),
    ("", "Secret"): ("type",),
    ("", "Namespace"): ("status.phase",),
    ("", "Node"): ("spec.unschedulable",),
    ("", "Service"): ("spec.clusterIP", "spec.type"),
    ("", "Event"): ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                    "reason", "reportingComponent", "source", "type"),
    ("apps", "ReplicaSet"): ("status.replicas",),
    ("batch", "Job"): ("status.successful",),
}


def field_value(obj: dict[str, Any], field: str) -> str:
    if field == "source":  # events: source is source.component
        return _str(_get(obj, "source.component"))
    return _str(_get(obj, field))


def parse_field_selector(selector: str | None, group: str, kind: str) -> list[tuple[str, str, str]]:
    if not selector or not selector.strip():
        return []
    allowed = {"metadata.name", "metadata.namespace"} | set(_KIND_FIELDS.get((group, kind), ()))
    terms: list[tuple[str, str, str]] = []
    # fields.ParseSelector: terms split on unescaped ',', operator is the first unescaped != / == / =.
    for term in re.split(r"(?<!\\),", selector):
        match = re.match(r"^(?P<field>[^!=]+?)\s*(?P<op>!=|==|=)\s*(?P<value>.*)$", term.strip())
        if not match:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")
        field, op, value = match.group("field").strip(), match.group("op"), match.group("value")
        value = value.replace("\\,", ",").replace("\\=", "=").replace("\\\\", "\\")
        if field not in allowed:
            raise bad_request(f"field label not supported: {field}")
        terms.append((field, "!=" if op == "!=" else "=", value))
    return terms


def fields_match(terms: list[tuple[str, str, str]], obj: dict[str, Any]) -> bool:
    for field, op, value in terms:
        actual = field_value(obj, field)
        if (op == "=") != (actual == value):
            return False
    return True


class Selector:
    """A parsed labelSelector + fieldSelector pair for one list or watch."""

    def __init__(self, label_selector: str | None, field_selector: str | None, group: str, kind: str):
        self.labels = parse_label_selector(label_selector)
        self.fields = parse_field_selector(field_selector, group, kind)

    @property
    def empty(self) -> bool:
        return not self.labels and not self.fields

    def matches(self, obj: dict[str, Any]) -> bool:
        return labels_match(self.labels, obj) and fields_match(self.fields, obj)


def label_selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions) against a label set.

    An empty selector matches everything; controllers use this for their pods.
    """
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def label_selector_string(selector: dict[str, Any] | None) -> str:
    """metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key."""
    parts: list[tuple[str, str]] = []
    for key, value in (selector or {}).get("matchLabels", {}).items():
        parts.append((key, f"{key}={value}"))
    for expr in (selector or {}).get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), sorted(expr.get("values") or [])
        rendered = {"In": f"{key} in ({','.join(values)})", "NotIn": f"{key} notin ({','.join(values)})",
                    "Exists": key, "DoesNotExist": f"!{key}"}.get(op, key)
        parts.append((key, rendered))
    return ",".join(text for _key, text in sorted(parts))
