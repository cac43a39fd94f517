"""Decoding the Kubernetes protobuf envelope for the few core kinds clients send that way.

client-go's typed clientset sends ``application/vnd.kubernetes.protobuf`` bodies: the 4-byte magic
``k8s\\x00`` followed by a ``runtime.Unknown`` {typeMeta{apiVersion=1, kind=2}=1, raw=2,
contentEncoding=3, contentType=4}, where ``raw`` is the object's own message. helm's release
storage (Secrets, or ConfigMaps with the configmap driver) and ``--create-namespace`` go through
that path. Field numbers are those of k8s.io/api/core/v1/generated.proto and
k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto. Responses are always JSON: clients decode
by the response Content-Type.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any, Callable

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, value) pairs; varints are ints, length-delimited values are bytes."""
    out: list[tuple[int, Any]] = []
    pos = 0
    value: Any
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, value))
    return out


def _str(value: bytes) -> str:
    return value.decode("utf-8")


def strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    """The string fields of a message that ``names`` lists, by their JSON names."""
    return {names[n]: _str(v) for n, v in fields(data) if n in names}


def with_meta(data: bytes, field: Callable[[dict[str, Any], int, Any], None]) -> dict[str, Any]:
    """A kind's message: ObjectMeta at field 1, every other field set on the object by ``field``."""
    obj: dict[str, Any] = {}
    for number, value in fields(data):
        if number == 1:
            obj["metadata"] = object_meta(value)
        else:
            field(obj, number, value)
    return obj


def with_spec(data: bytes, spec_field: Callable[[dict[str, Any], int, Any], None]) -> dict[str, Any]:
    """A message of {metadata=1, spec=2}: ObjectMeta, and a spec whose fields ``spec_field`` sets one by one."""
    def field(obj: dict[str, Any], number: int, value: Any) -> None:
        if number == 2:
            spec = obj["spec"] = {}
            for sub, item in fields(value):
                spec_field(spec, sub, item)
    return with_meta(data, field)


def map_entry(value: bytes) -> tuple[str, bytes]:
    key, val = "", b""
    for number, item in fields(value):
        if number == 1:
            key = _str(item)
        elif number == 2:
            val = item
    return key, val


def _time(value: bytes) -> str:
    seconds = next((v for n, v in fields(value) if n == 1), 0)
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_reference(value: bytes) -> dict[str, Any]:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    ref: dict[str, Any] = {}
    for number, item in fields(value):
        if number in names:
            ref[names[number]] = _str(item)
        elif number == 6:
            ref["controller"] = bool(item)
        elif number == 7:
            ref["blockOwnerDeletion"] = bool(item)
    return ref


def object_meta(data: bytes) -> dict[str, Any]:
    strings = {1: "name", 2: "generateName", 3: "namespace", 4: "selfLink", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    for number, value in fields(data):
        if number in strings:
            meta[strings[number]] = _str(value)
        elif number == 7:
            meta["generation"] = value
        elif number == 8:
            meta["creationTimestamp"] = _time(value)
        elif number == 9:
            meta["deletionTimestamp"] = _time(value)
        elif number in (11, 12):
            key, val = map_entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = _str(val)
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(value))
        elif number == 14:
            meta.setdefault("finalizers", []).append(_str(value))
        # 17 (managedFields) is ignored: the server owns field management.
    return meta


def _secret(obj: dict[str, Any], number: int, value: Any) -> None:
    if number == 2:
        key, val = map_entry(value)
        obj.setdefault("data", {})[key] = base64.b64encode(val).decode("ascii")
    elif number == 3:
        obj["type"] = _str(value)
    elif number == 4:
        key, val = map_entry(value)
        obj.setdefault("stringData", {})[key] = _str(val)
    elif number == 5:
        obj["immutable"] = bool(value)


def _config_map(obj: dict[str, Any], number: int, value: Any) -> None:
    if number == 2:
        key, val = map_entry(value)
        obj.setdefault("data", {})[key] = _str(val)
    elif number == 3:
        key, val = map_entry(value)
        obj.setdefault("binaryData", {})[key] = base64.b64encode(val).decode("ascii")
    elif number == 4:
        obj["immutable"] = bool(value)


def _namespace(obj: dict[str, Any], number: int, value: Any) -> None:
    if number == 2:
        finalizers = [_str(v) for n, v in fields(value) if n == 1]
        obj["spec"] = {"finalizers": finalizers} if finalizers else {}


def _service_account(obj: dict[str, Any], number: int, value: Any) -> None:
    if number == 2:
        ref = strings(value, {1: "kind", 2: "namespace", 3: "name", 4: "uid", 5: "apiVersion"})
        obj.setdefault("secrets", []).append(ref)
    elif number == 3:
        name = next((_str(v) for n, v in fields(value) if n == 1), "")
        obj.setdefault("imagePullSecrets", []).append({"name": name})
    elif number == 4:
        obj["automountServiceAccountToken"] = bool(value)


def _delete_options(data: bytes) -> dict[str, Any]:
    # meta/v1 DeleteOptions: gracePeriodSeconds=1, preconditions=2 {uid=1, resourceVersion=2},
    # orphanDependents=3, propagationPolicy=4, dryRun=5.
    obj: dict[str, Any] = {}
    for number, value in fields(data):
        if number == 1:
            obj["gracePeriodSeconds"] = value
        elif number == 2:
            obj["preconditions"] = strings(value, {1: "uid", 2: "resourceVersion"})
        elif number == 3:
            obj["orphanDependents"] = bool(value)
        elif number == 4:
            obj["propagationPolicy"] = _str(value)
        elif number == 5:
            obj.setdefault("dryRun", []).append(_str(value))
    return obj


def _token_request_spec(spec: dict[str, Any], number: int, value: Any) -> None:
    # authentication/v1 TokenRequest: spec=2 {audiences=1, boundObjectRef=3 {kind=1, apiVersion=2,
    # name=3, uid=4}, expirationSeconds=4}.
    if number == 1:
        spec.setdefault("audiences", []).append(_str(value))
    elif number == 3:
        spec["boundObjectRef"] = strings(value, {1: "kind", 2: "apiVersion", 3: "name", 4: "uid"})
    elif number == 4:
        spec["expirationSeconds"] = value


def _token_review_spec(spec: dict[str, Any], number: int, value: Any) -> None:
    # authentication/v1 TokenReview: spec=2 {token=1, audiences=2}.
    if number == 1:
        spec["token"] = _str(value)
    elif number == 2:
        spec.setdefault("audiences", []).append(_str(value))


DECODERS: dict[tuple[str, str], Callable[[bytes], dict[str, Any]]] = {
    ("authentication.k8s.io/v1", "TokenRequest"): lambda data: with_spec(data, _token_request_spec),
    ("authentication.k8s.io/v1", "TokenReview"): lambda data: with_spec(data, _token_review_spec),
    ("v1", "Secret"): lambda data: with_meta(data, _secret),
    ("v1", "ConfigMap"): lambda data: with_meta(data, _config_map),
    ("v1", "Namespace"): lambda data: with_meta(data, _namespace),
    ("v1", "ServiceAccount"): lambda data: with_meta(data, _service_account),
}


def decode(body: bytes) -> dict[str, Any]:
    """A JSON-shaped object from a protobuf request body; raises ProtobufError or KeyError."""
    if not body.startswith(MAGIC):
        raise ProtobufError("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")
    api_version = kind = ""
    raw = b""
    for number, value in fields(body[len(MAGIC):]):
        if number == 1:
            for sub, item in fields(value):
                if sub == 1:
                    api_version = _str(item)
                elif sub == 2:
                    kind = _str(item)
        elif number == 2:
            raw = value
    # DeleteOptions is registered in every group version (and meta.k8s.io/v1).
    decoder = _delete_options if kind == "DeleteOptions" else DECODERS.get((api_version, kind))
    if decoder is None:
        raise KeyError(f"{api_version}/{kind}")
    obj = {"apiVersion": api_version, "kind": kind}
    obj.update(decoder(raw))
    return obj
