"""``metadata.managedFields`` as kube-apiserver renders the field managers (apply.py tracks them).

One entry per (manager, operation): ``manager``, ``operation`` (Apply or Update), ``apiVersion``,
``time``, ``fieldsType: FieldsV1`` and ``fieldsV1``, the set of owned paths as nested maps keyed
``f:<field>``, ``k:<key json>`` (keyed list items) and ``v:<value json>`` (set members), with
``.`` marking a node that is itself owned and has children
(sigs.k8s.io/structured-merge-diff fieldpath/serialize.go). Entries are sorted by operation, then
time, then manager (k8s.io/apiserver pkg/util/managedfields/internal/managedfields.go
sortEncodedManagedFields). Status writes are not tracked by the lab, so no ``subresource: status``
entry appears.
"""

from __future__ import annotations

from typing import Any

from .apply import Manager, Path


def _fields_v1(paths: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for kind, key in path:
            node = node.setdefault(f"{kind}:{key}", {})
    for path in paths:
        node = tree
        for kind, key in path:
            node = node[f"{kind}:{key}"]
        if node and "." not in node:
            node["."] = {}
    return _sorted(tree)


def _sorted(node: dict[str, Any]) -> dict[str, Any]:
    # "." first, then the children in key order, as the serializer writes them.
    return {k: _sorted(node[k]) for k in sorted(node, key=lambda k: (k != ".", k))}


def render(managers: dict[tuple[str, str], Manager] | None) -> list[dict[str, Any]]:
    entries = []
    for manager in sorted((managers or {}).values(), key=lambda m: (m.operation, m.time, m.name)):
        if not manager.fields:
            continue
        entries.append({"manager": manager.name, "operation": manager.operation, "apiVersion": manager.api_version,
                        "time": manager.time, "fieldsType": "FieldsV1", "fieldsV1": _fields_v1(manager.fields)})
    return entries
