"""Contract: Kubernetes protobuf request bodies (what client-go's typed clients, e.g. helm, send).

The bodies here are encoded by hand from k8s.io/api's generated.proto field numbers, independent of
the emulator's decoder; helm's release storage exercises the same path in test_k8s_helm.py.
"""

from __future__ import annotations

import base64


PROTOBUF = "application/vnd.kubernetes.protobuf"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _map_entry(number: int, key: str, value: bytes | str) -> bytes:
    return _field(number, _field(1, key) + _field(2, value))


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version) + _field(2, kind)
    return b"k8s\x00" + _field(1, type_meta) + _field(2, raw) + _field(3, "") + _field(4, "")


def _object_meta(name: str, labels: dict[str, str]) -> bytes:
    meta = _field(1, name)
    for key, value in labels.items():
        meta += _map_entry(11, key, value)
    return meta


def test_protobuf_secret_is_created_and_answered_in_json(raw, ns):
    secret = (_field(1, _object_meta("release", {"owner": "helm", "name": "keda"}))
              + _map_entry(2, "release", b"\x1f\x8b binary") + _field(3, "helm.sh/release.v1"))
    response = raw.request("POST", f"/api/v1/namespaces/{ns}/secrets", _envelope("v1", "Secret", secret), PROTOBUF,
                           headers={"Accept": f"{PROTOBUF}, */*"})
    assert response.status_code == 201 and response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["metadata"]["labels"] == {"owner": "helm", "name": "keda"}
    assert body["type"] == "helm.sh/release.v1"
    assert base64.b64decode(body["data"]["release"]) == b"\x1f\x8b binary"


def test_protobuf_update_of_a_configmap(raw, ns):
    raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    config_map = _field(1, _object_meta("cm", {"status": "superseded"})) + _map_entry(2, "a", "2")
    response = raw.request("PUT", f"/api/v1/namespaces/{ns}/configmaps/cm", _envelope("v1", "ConfigMap", config_map), PROTOBUF)
    assert response.status_code == 200
    assert response.json()["data"] == {"a": "2"} and response.json()["metadata"]["labels"] == {"status": "superseded"}


def test_protobuf_delete_options_are_honoured(raw, ns):
    raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "gone"}})
    options = _field(5, "All")  # dryRun: [All]
    response = raw.request("DELETE", f"/api/v1/namespaces/{ns}/configmaps/gone", _envelope("v1", "DeleteOptions", options),
                           PROTOBUF)
    assert response.status_code == 200
    assert raw.request("GET", f"/api/v1/namespaces/{ns}/configmaps/gone").status_code == 200


def test_body_without_the_protobuf_magic_is_a_bad_request(raw, ns):
    response = raw.request("POST", f"/api/v1/namespaces/{ns}/secrets", b"\x0a\x00", PROTOBUF)
    assert response.status_code == 400 and response.json()["reason"] == "BadRequest"
