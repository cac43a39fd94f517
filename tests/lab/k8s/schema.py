"""Custom resources against their CRD's structural schema: pruning, defaulting, validation.

Follows apiextensions-apiserver: unknown fields are pruned unless the schema preserves them
(reported as "unknown field" warnings, or a 400 under ``fieldValidation=Strict``), ``null`` in a
non-nullable field is dropped, ``default`` values fill missing properties, then the OpenAPI v3
value validations run and produce the same field errors kube-openapi's validator does.
Not evaluated: ``x-kubernetes-validations`` (CEL rules) and ``format``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from . import errors as e

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, expected: str) -> bool:
    actual = type_name(value)
    if expected == "number":
        return actual in ("integer", "number")
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return True
    return actual == expected


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Result:
    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.errors: list[e.FieldError] = []


def process(obj: dict[str, Any], schema: dict[str, Any] | None) -> tuple[dict[str, Any], Result]:
    """Prune + default + validate a custom resource; returns the new object and the findings."""
    result = Result()
    if not schema:
        return obj, result
    obj = copy.deepcopy(obj)
    props = schema.get("properties") or {}
    for key in list(obj):
        if key in _ROOT_FIELDS:
            continue
        if key in props:
            obj[key] = _node(obj[key], props[key], key, result)
            if obj[key] is _DROP:
                del obj[key]
        elif not _preserves(schema):
            result.unknown.append(key)
            del obj[key]
    _defaults(obj, schema, "", result, skip=_ROOT_FIELDS)
    for name in schema.get("required") or []:
        if name not in obj and name not in _ROOT_FIELDS:
            result.errors.append(e.required(name))
    return obj, result


_DROP = object()


def _preserves(schema: dict[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields")) or schema.get("additionalProperties") is True


def _defaults(obj: dict[str, Any], schema: dict[str, Any], path: str, result: Result, skip: tuple[str, ...] = ()) -> None:
    for key, sub in (schema.get("properties") or {}).items():
        if key in skip or key in obj or "default" not in sub:
            continue
        obj[key] = _node(copy.deepcopy(sub["default"]), sub, _join(path, key), result)


def _node(value: Any, schema: dict[str, Any], path: str, result: Result) -> Any:
    if value is None:
        return None if schema.get("nullable") else _DROP
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            result.errors.append(e.invalid(path, type_name(value),
                                           f'{path} in body must be of type integer,string: "{type_name(value)}"'))
        _value_checks(value, schema, path, result)
        return value
    expected = schema.get("type")
    if expected and not _type_ok(value, expected):
        result.errors.append(e.invalid(path, type_name(value),
                                       f'{path} in body must be of type {expected}: "{type_name(value)}"'))
        return value
    if isinstance(value, dict) and (expected == "object" or "properties" in schema or not expected):
        value = _object(value, schema, path, result)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            cleaned = []
            for index, item in enumerate(value):
                item = _node(item, items, f"{path}[{index}]", result)
                cleaned.append(None if item is _DROP else item)
            value = cleaned
    _value_checks(value, schema, path, result)
    return value


def _object(value: dict[str, Any], schema: dict[str, Any], path: str, result: Result) -> dict[str, Any]:
    props = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    embedded = schema.get("x-kubernetes-embedded-resource")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in props:
            cleaned = _node(item, props[key], _join(path, key), result)
            if cleaned is not _DROP:
                out[key] = cleaned
        elif isinstance(additional, dict):
            cleaned = _node(item, additional, _join(path, key), result)
            if cleaned is not _DROP:
                out[key] = cleaned
        elif _preserves(schema) or (embedded and key in _ROOT_FIELDS):
            out[key] = item
        else:
            result.unknown.append(_join(path, key))
    _defaults(out, schema, path, result)
    for name in schema.get("required") or []:
        if name not in out:
            result.errors.append(e.required(_join(path, name)))
    return out


def _value_checks(value: Any, schema: dict[str, Any], path: str, result: Result) -> None:
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        result.errors.append(e.not_supported(path, value, enum))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            result.errors.append(e.invalid(path, value, f"{path} in body should be at least {schema['minLength']} chars long"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            result.errors.append(e.too_long(path, value, schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            result.errors.append(e.invalid(path, value, f"{path} in body should match '{schema['pattern']}'"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _numeric(value, schema, path, result)
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            result.errors.append(e.invalid(path, len(value), f"{path} in body should have at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            result.errors.append(e.FieldError(path, "FieldValueTooMany",
                                              f"Too many: {len(value)}: must have at most {schema['maxItems']} items"))
    if isinstance(value, dict):
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            result.errors.append(e.invalid(path, len(value),
                                           f"{path} in body should have at least {schema['minProperties']} properties"))
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if not options:
            continue
        passing = 0
        for option in options:
            probe = Result()
            _value_checks(value, option, path, probe)
            if "type" in option and not _type_ok(value, option["type"]):
                probe.errors.append(e.invalid(path, value, "type"))
            if not probe.errors:
                passing += 1
        if passing == 0 or (keyword == "oneOf" and passing > 1):
            result.errors.append(e.invalid(path, value, f"{path} in body must validate {'one' if keyword == 'oneOf' else 'any'} "
                                                        f"of the schemas ({keyword})"))


def _numeric(value: float, schema: dict[str, Any], path: str, result: Result) -> None:
    if "minimum" in schema:
        bound = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= bound:
            result.errors.append(e.invalid(path, value, f"{path} in body should be greater than {bound}"))
        elif value < bound:
            result.errors.append(e.invalid(path, value, f"{path} in body should be greater than or equal to {bound}"))
    if "maximum" in schema:
        bound = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= bound:
            result.errors.append(e.invalid(path, value, f"{path} in body should be less than {bound}"))
        elif value > bound:
            result.errors.append(e.invalid(path, value, f"{path} in body should be less than or equal to {bound}"))
    if schema.get("multipleOf") and value % schema["multipleOf"]:
        result.errors.append(e.invalid(path, value, f"{path} in body should be a multiple of {schema['multipleOf']}"))
