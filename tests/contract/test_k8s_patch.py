"""Contract: merge, strategic merge, JSON and server-side apply patches."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from lab.testing import REPO_ROOT
from kubernetes import client, dynamic

from lab.k8s.testing import api_client

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
SCALEDOBJECT_CRD = os.path.join(os.path.dirname(REPO_ROOT), "shared", "reference", "keda", "keda.sh_scaledobjects.yaml")


@pytest.fixture(scope="module")
def keda_crd(tools):
    tools.kubectl("apply", "--server-side", "-f", SCALEDOBJECT_CRD)


def _deploy(raw, ns: str, name: str = "web") -> str:
    body = {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [
            {"name": "main", "image": "nginx:1.27", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
            {"name": "side", "image": "busybox:1.36"}]}}}}
    assert raw.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", body).status_code == 201
    return f"/apis/apps/v1/namespaces/{ns}/deployments/{name}"


def _scaled_object(name: str, max_replicas: int = 5) -> dict:
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"name": "web"}, "maxReplicaCount": max_replicas,
                     "triggers": [{"type": "cpu", "metadata": {"value": "50"}}]}}


def test_merge_patch_merges_maps_and_null_deletes(raw, ns):
    path = f"/api/v1/namespaces/{ns}/configmaps/m"
    created = {"metadata": {"name": "m", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}}
    raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", created)
    body = raw.request("PATCH", path, {"metadata": {"labels": {"a": None, "c": "3"}}, "data": {"y": "2"}}, MERGE).json()
    assert body["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert body["data"] == {"x": "1", "y": "2"}


def test_merge_patch_replaces_lists_whole(raw, ns):
    path = _deploy(raw, ns)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "nginx:1.28"}]}}}}
    body = raw.request("PATCH", path, patch, MERGE).json()
    assert [c["name"] for c in body["spec"]["template"]["spec"]["containers"]] == ["only"]


def test_strategic_merge_merges_containers_and_env_by_name(raw, ns):
    path = _deploy(raw, ns)
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.28", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]}]}}}}
    body = raw.request("PATCH", path, patch, STRATEGIC).json()
    containers = {c["name"]: c for c in body["spec"]["template"]["spec"]["containers"]}
    assert set(containers) == {"main", "side"}
    assert containers["main"]["image"] == "nginx:1.28"
    assert containers["main"]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}]


def test_strategic_merge_directives_delete_replace_and_order(raw, ns):
    path = _deploy(raw, ns)
    deleted = raw.request("PATCH", path, {"spec": {"template": {"spec": {"containers": [
        {"name": "side", "$patch": "delete"}]}}}}, STRATEGIC).json()
    assert [c["name"] for c in deleted["spec"]["template"]["spec"]["containers"]] == ["main"]
    replaced = raw.request("PATCH", path, {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.27", "env": [{"$patch": "replace"}, {"name": "Z", "value": "9"}]}]}}}},
        STRATEGIC).json()
    assert replaced["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "Z", "value": "9"}]
    ordered = raw.request("PATCH", path, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "extra"}, {"name": "main"}],
        "containers": [{"name": "extra", "image": "busybox:1.36"}]}}}}, STRATEGIC).json()
    assert [c["name"] for c in ordered["spec"]["template"]["spec"]["containers"]] == ["extra", "main"]


def test_strategic_merge_on_a_custom_resource_is_unsupported_media_type(raw, ns, keda_crd):
    raw.request("POST", f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects", _scaled_object("so"))
    response = raw.request("PATCH", f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects/so",
                           {"spec": {"maxReplicaCount": 9}}, STRATEGIC)
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"
    assert response.json()["message"] == ("the body of the request was in an unknown format - accepted media types "
                                          "include: application/json-patch+json, application/merge-patch+json, "
                                          "application/apply-patch+yaml")
    merged = raw.request("PATCH", f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects/so",
                         {"spec": {"maxReplicaCount": 9}}, MERGE)
    assert merged.status_code == 200 and merged.json()["spec"]["maxReplicaCount"] == 9


def test_json_patch_applies_operations_and_a_failed_test_is_422(raw, ns):
    path = f"/api/v1/namespaces/{ns}/configmaps/j"
    raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "j"}, "data": {"a": "1"}})
    ops = [{"op": "test", "path": "/data/a", "value": "1"}, {"op": "add", "path": "/data/b", "value": "2"},
           {"op": "replace", "path": "/data/a", "value": "10"}, {"op": "copy", "from": "/data/b", "path": "/data/c"},
           {"op": "remove", "path": "/data/b"}]
    assert raw.request("PATCH", path, ops, JSON_PATCH).json()["data"] == {"a": "10", "c": "2"}
    failed = raw.request("PATCH", path, [{"op": "test", "path": "/data/a", "value": "nope"}], JSON_PATCH)
    assert failed.status_code == 422 and failed.json()["reason"] == "Invalid"
    assert failed.json()["message"] == "the server rejected our request due to an error in our request"
    missing = raw.request("PATCH", path, [{"op": "remove", "path": "/data/zzz"}], JSON_PATCH)
    assert missing.status_code == 422
    assert raw.request("GET", path).json()["data"] == {"a": "10", "c": "2"}


def test_patch_carrying_a_stale_resource_version_is_a_conflict(raw, ns):
    raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "rv"}})
    path = f"/api/v1/namespaces/{ns}/configmaps/rv"
    response = raw.request("PATCH", path, {"metadata": {"resourceVersion": "1"}, "data": {"a": "b"}}, MERGE)
    assert response.status_code == 409 and response.json()["reason"] == "Conflict"


def test_patch_of_a_missing_object_is_not_found_and_force_on_merge_is_invalid(raw, ns):
    assert raw.request("PATCH", f"/api/v1/namespaces/{ns}/configmaps/none", {}, MERGE).status_code == 404
    raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "f"}})
    forced = raw.request("PATCH", f"/api/v1/namespaces/{ns}/configmaps/f?force=true", {}, MERGE).json()
    assert forced["code"] == 422 and forced["message"] == ('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: '
                                                           'may not be specified for non-apply patch')


def test_apply_creates_with_201_and_requires_a_field_manager(raw, ns):
    path = f"/api/v1/namespaces/{ns}/configmaps/applied"
    body = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "1"}})
    missing = raw.request("PATCH", path, body, APPLY)
    assert missing.status_code == 422
    assert missing.json()["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                         'is required for apply patch')
    created = raw.request("PATCH", path + "?fieldManager=tester", body, APPLY)
    assert created.status_code == 201 and created.json()["data"] == {"a": "1"}
    again = raw.request("PATCH", path + "?fieldManager=tester", body, APPLY)
    assert again.status_code == 200
    assert again.json()["metadata"]["resourceVersion"] == created.json()["metadata"]["resourceVersion"]


def test_apply_conflicts_with_another_manager_until_forced(raw, ns):
    path = f"/api/v1/namespaces/{ns}/configmaps/owned"
    first = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"a": "1", "b": "1"}}
    raw.request("PATCH", path + "?fieldManager=alice", first, APPLY)
    second = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"a": "2"}}
    conflict = raw.request("PATCH", path + "?fieldManager=bob", second, APPLY)
    assert conflict.status_code == 409
    body = conflict.json()
    assert body["reason"] == "Conflict"
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "alice": .data.a'
    assert body["details"]["causes"] == [{"reason": "FieldManagerConflict", "message": 'conflict with "alice"',
                                          "field": ".data.a"}]
    same_value = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"b": "1"}}
    assert raw.request("PATCH", path + "?fieldManager=bob", same_value, APPLY).status_code == 200
    forced = raw.request("PATCH", path + "?fieldManager=bob&force=true", second, APPLY)
    assert forced.status_code == 200 and forced.json()["data"] == {"a": "2", "b": "1"}


def test_apply_removes_fields_the_manager_stopped_applying(raw, ns):
    path = f"/api/v1/namespaces/{ns}/configmaps/shrink"
    full = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shrink", "labels": {"keep": "1", "drop": "1"}},
            "data": {"a": "1", "b": "2"}}
    raw.request("PATCH", path + "?fieldManager=me", full, APPLY)
    raw.request("PATCH", path, {"data": {"other": "x"}}, MERGE)  # another manager's field survives
    smaller = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shrink", "labels": {"keep": "1"}},
               "data": {"a": "1"}}
    body = raw.request("PATCH", path + "?fieldManager=me", smaller, APPLY).json()
    assert body["metadata"]["labels"] == {"keep": "1"}
    assert body["data"] == {"a": "1", "other": "x"}


def test_apply_on_an_update_conflict_names_the_update_manager_and_api_version(raw, ns):
    path = _deploy(raw, ns, "upd")
    config = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "upd"},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "upd"}}}}
    raw.request("PATCH", path, {"spec": {"replicas": 2}}, MERGE, headers={"User-Agent": "editor/1.0"})
    conflict = raw.request("PATCH", path + "?fieldManager=ci", config, APPLY).json()
    assert conflict["code"] == 409
    assert conflict["message"].startswith('Apply failed with 1 conflict: conflict with "editor" using apps/v1 at ')
    assert conflict["message"].endswith(": .spec.replicas")


def test_kubectl_server_side_apply_of_the_real_crd_and_a_scaled_object(tools, raw, ns, keda_crd, tmp_path):
    crd = raw.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh").json()
    established = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert established == {"NamesAccepted": "True", "Established": "True"}
    manifest = tmp_path / "so.yaml"
    manifest.write_text(yaml.safe_dump(_scaled_object("apply-so")))
    out = tools.kubectl("apply", "--server-side", "-n", ns, "-f", str(manifest)).stdout
    assert "scaledobject.keda.sh/apply-so serverside-applied" in out
    manifest.write_text(yaml.safe_dump(_scaled_object("apply-so", 8)))
    conflict = tools.kubectl("apply", "--server-side", "--field-manager=other", "-n", ns, "-f", str(manifest), check=False)
    assert conflict.returncode != 0 and 'conflict with "kubectl": .spec.maxReplicaCount' in conflict.stderr
    tools.kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-n", ns, "-f", str(manifest))
    current = tools.kubectl_json("get", "so", "apply-so", "-n", ns)
    assert current["spec"]["maxReplicaCount"] == 8 and current["metadata"]["generation"] == 2


def test_kubectl_client_side_apply_is_idempotent(tools, ns, tmp_path):
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "csa", "namespace": ns},
                                        "data": {"a": "1"}}))
    assert "configmap/csa created" in tools.kubectl("apply", "-f", str(manifest)).stdout
    before = tools.kubectl_json("get", "cm", "csa", "-n", ns)
    assert "kubectl.kubernetes.io/last-applied-configuration" in before["metadata"]["annotations"]
    assert "configmap/csa unchanged" in tools.kubectl("apply", "-f", str(manifest)).stdout
    after = tools.kubectl_json("get", "cm", "csa", "-n", ns)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_python_dynamic_client_server_side_apply_and_patches(lab, ns, keda_crd):
    dyn = dynamic.DynamicClient(api_client(lab.env["KUBECONFIG"]))
    scaled = dyn.resources.get(api_version="keda.sh/v1alpha1", kind="ScaledObject")
    body = dict(_scaled_object("dyn"), metadata={"name": "dyn", "namespace": ns})
    created = scaled.server_side_apply(body=body, field_manager="ansible", namespace=ns)
    assert created.metadata.name == "dyn"
    patched = scaled.patch(name="dyn", namespace=ns, body={"spec": {"minReplicaCount": 1}},
                           content_type=MERGE)
    assert patched.spec.minReplicaCount == 1
    with pytest.raises(client.ApiException) as info:
        scaled.patch(name="dyn", namespace=ns, body={"spec": {"minReplicaCount": 2}})  # strategic by default
    assert info.value.status == 415
    assert json.loads(info.value.body)["reason"] == "UnsupportedMediaType"
