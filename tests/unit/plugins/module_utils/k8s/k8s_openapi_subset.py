# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The part of a CRD's structural OpenAPI v3 schema the API server enforces on our objects.

jsonschema is not a test dependency, and a structural schema needs less than JSON Schema anyway:
type, properties (unknown fields are an error here, where the server would silently prune them,
which would be a module bug), required, additionalProperties, items, enum, minimum/maximum,
int32/int64 ranges, minLength/maxLength, minItems/maxItems, nullable, anyOf/allOf,
x-kubernetes-int-or-string and x-kubernetes-preserve-unknown-fields. CEL rules
(x-kubernetes-validations) are not evaluated; the modules check those rules themselves.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

KEDA_CRDS = os.environ.get("KEDA_CRD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), *([os.pardir] * 6), "shared", "reference", "keda")

INT_RANGES = {"int32": (-(2 ** 31), 2 ** 31 - 1), "int64": (-(2 ** 63), 2 ** 63 - 1)}


def load_crds(directory: str = KEDA_CRDS) -> dict[str, dict[str, Any]]:
    """Every CRD document in ``directory`` (keda.sh_*.yaml), by kind."""
    crds = {}
    for name in sorted(os.listdir(directory)):
        if name.startswith("keda.sh_") and name.endswith(".yaml"):
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                for document in yaml.safe_load_all(f):
                    if document and document.get("kind") == "CustomResourceDefinition":
                        crds[document["spec"]["names"]["kind"]] = document
    return crds


def served_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return entry["schema"]["openAPIV3Schema"]
    raise KeyError(version)


def _type_ok(expected: str, value: Any) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise ValueError(f"schema type {expected!r} not supported by this validator")


def validate(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """The violations of ``value`` against ``schema``, as "path: problem" strings."""
    where = path or "<root>"
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null is not allowed"]
    errors: list[str] = []
    for sub in schema.get("allOf") or []:
        errors += validate(sub, value, path)
    if schema.get("anyOf"):
        if all(validate(sub, value, path) for sub in schema["anyOf"]):
            errors.append(f"{where}: matches none of anyOf")
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))):
            errors.append(f"{where}: must be an integer or a string")
        return errors
    expected = schema.get("type")
    if expected and not _type_ok(expected, value):
        return errors + [f"{where}: must be of type {expected}, got {type(value).__name__} {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in enum {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} is above the maximum {schema['maximum']}")
        low_high = INT_RANGES.get(schema.get("format", ""))
        if low_high and not low_high[0] <= value <= low_high[1]:
            errors.append(f"{where}: {value} does not fit {schema['format']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{where}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: longer than {schema['maxLength']}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if "items" in schema:
            for index, item in enumerate(value):
                errors += validate(schema["items"], item, f"{path}[{index}]")
    if isinstance(value, dict):
        for key in schema.get("required") or []:
            if key not in value:
                errors.append(f"{path + '.' if path else ''}{key}: required")
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if path == "" and key == "metadata":
                continue  # ObjectMeta is validated by the server itself, not by the CRD schema
            if key in properties:
                errors += validate(properties[key], item, child)
            elif isinstance(additional, dict):
                errors += validate(additional, item, child)
            elif additional is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                continue
            else:
                errors.append(f"{child}: unknown field (the API server would prune it)")
    return errors


def validate_object(crds: dict[str, dict[str, Any]], obj: dict[str, Any]) -> list[str]:
    crd = crds[obj["kind"]]
    group, _slash, version = obj["apiVersion"].partition("/")
    assert group == crd["spec"]["group"], f"{obj['apiVersion']} is not in group {crd['spec']['group']}"
    namespaced = crd["spec"]["scope"] == "Namespaced"
    problems = validate(served_schema(crd, version), obj)
    if namespaced != bool((obj.get("metadata") or {}).get("namespace")):
        problems.append(f"metadata.namespace: {crd['spec']['scope']} kind {obj['kind']}")
    return problems
