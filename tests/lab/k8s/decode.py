"""Decoding a write's body as the apiserver's generic registry does before anything else runs.

apiVersion/kind checks, metadata shape (labels and annotations are strings), the namespace and name
against the URL (rest.EnsureObjectNamespaceMatchesRequestNamespace), Secret data as base64 with
stringData merged in (pkg/apis/core/v1/conversion.go), defaulting for built-in kinds and, for
custom resources, pruning and schema validation against the CRD's structural schema.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import TYPE_CHECKING, Any

from . import defaults, errors, schema
from .resources import ResourceType

if TYPE_CHECKING:
    from .options import Options


def decode(rt: ResourceType, namespace: str, body: Any, opts: Options,
           url_name: str | None = None) -> tuple[dict[str, Any], list[errors.FieldError]]:
    """The request body as the registry sees it after decoding; returns (obj, schema errors)."""
    version = rt.version
    if not isinstance(body, dict):
        raise errors.bad_request(f"the object provided is unrecognized (must be of type {rt.kind})")
    obj = copy.deepcopy(body)
    if not rt.builtin:
        for field in ("kind", "apiVersion"):
            if not obj.get(field):
                raise errors.bad_request(f"Object '{'Kind' if field == 'kind' else 'apiVersion'}' is missing in "
                                         f"'{json.dumps(body, separators=(',', ':'))}'")
    if obj.get("apiVersion") and obj["apiVersion"] != rt.api_version:
        raise errors.bad_request(f"the API version in the data ({obj['apiVersion']}) does not match the expected "
                                 f"API version ({rt.api_version})")
    if obj.get("kind") and obj["kind"] != rt.kind:
        raise errors.bad_request(f"{obj['kind']} in version \"{version}\" cannot be handled as a {rt.kind}: "
                                 f"the kind in the data ({obj['kind']}) does not match the expected kind ({rt.kind})")
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    meta = obj.setdefault("metadata", {})
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        raise errors.bad_request(f"{rt.kind} in version \"{version}\" cannot be handled as a {rt.kind}: "
                                 "json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta")
    for field in ("labels", "annotations"):
        values = meta.get(field)
        if values is None:
            meta.pop(field, None)
            continue
        if not isinstance(values, dict) or any(not isinstance(v, str) for v in values.values()):
            bad = next((v for v in (values.values() if isinstance(values, dict) else [values]) if not isinstance(v, str)), values)
            raise errors.bad_request(
                f"{rt.kind} in version \"{version}\" cannot be handled as a {rt.kind}: json: cannot unmarshal "
                f"{schema.type_name(bad).replace('integer', 'number')} into Go struct field "
                f"ObjectMeta.metadata.{field} of type string")
    # rest.EnsureObjectNamespaceMatchesRequestNamespace
    if rt.namespaced:
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    if url_name is not None and meta.get("name") and meta["name"] != url_name:
        raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({url_name})")
    if url_name is not None and not meta.get("name"):
        meta["name"] = url_name
    found: list[errors.FieldError] = []
    if rt.builtin:
        if rt.kind == "Secret" and rt.group == "":
            _decode_secret(obj, rt)
        defaults.apply(rt.group, rt.kind, obj)
    else:
        obj, result = schema.process(obj, rt.schema)
        if result.unknown:
            rendered = [f'unknown field "{path}"' for path in result.unknown]
            if opts.field_validation == "Strict":
                raise errors.bad_request("strict decoding error: " + ", ".join(rendered))
            if opts.field_validation == "Warn":
                opts.warnings.extend(rendered)
        found = result.errors
    return obj, found


def _decode_secret(obj: dict[str, Any], rt: ResourceType) -> None:
    data = obj.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise errors.bad_request(f"{rt.kind} in version \"v1\" cannot be handled as a Secret: json: cannot unmarshal "
                                 "into Go struct field Secret.data of type map[string][]uint8")
    for key, value in data.items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.bad_request(f"Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data "
                                     f"at input byte {len(str(value)) - 1}") from exc
        if value is None:
            data[key] = ""
    # stringData is write-only: it is merged into data (pkg/apis/core/v1/conversion.go).
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        merged = dict(obj.get("data") or {})
        for key, value in string_data.items():
            merged[key] = base64.b64encode(str(value).encode()).decode("ascii")
        obj["data"] = merged
