"""Contract: CRUD semantics, Status bodies, metadata, dry run, selectors and the control endpoint."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from kubernetes import client


RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _deployment(name: str, image: str = "nginx:1.27", labels: dict | None = None) -> dict:
    pod_labels = {"app": name, **(labels or {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": pod_labels},
                                  "spec": {"containers": [{"name": "main", "image": image}]}}}}


def test_create_returns_201_with_server_set_metadata(raw, ns):
    response = raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "one"}, "data": {"k": "v"}})
    assert response.status_code == 201
    meta = response.json()["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert meta["resourceVersion"].isdigit()
    assert RFC3339.match(meta["creationTimestamp"])
    assert "generation" not in meta  # ConfigMaps have no generation
    second = raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "two"}}).json()
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])


def test_typed_client_round_trips_and_lists_with_kind_and_resource_version(core, ns):
    core.create_namespaced_secret(ns, client.V1Secret(metadata=client.V1ObjectMeta(name="s1"), string_data={"a": "b"}))
    secret = core.read_namespaced_secret("s1", ns)
    assert secret.type == "Opaque" and secret.data == {"a": "Yg=="}  # stringData is merged into data
    listed = json.loads(core.list_namespaced_secret(ns, _preload_content=False).data)
    assert listed["kind"] == "SecretList" and listed["apiVersion"] == "v1"
    assert listed["metadata"]["resourceVersion"].isdigit()
    assert [s["metadata"]["name"] for s in listed["items"]] == ["s1"]


def test_get_missing_object_is_not_found_with_details(raw, ns):
    body = raw.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/ghost").json()
    assert body["code"] == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'deployments.apps "ghost" not found'
    assert body["details"] == {"name": "ghost", "group": "apps", "kind": "deployments"}
    core_missing = raw.request("GET", f"/api/v1/namespaces/{ns}/configmaps/ghost").json()
    assert core_missing["message"] == 'configmaps "ghost" not found'
    assert core_missing["details"] == {"name": "ghost", "kind": "configmaps"}


def test_second_create_is_already_exists(core, ns):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "dup"}})
    with pytest.raises(client.ApiException) as info:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "dup"}})
    assert info.value.status == 409
    assert '"reason": "AlreadyExists"' in info.value.body.replace(":", ": ").replace(":  ", ": ")
    assert 'configmaps \\"dup\\" already exists' in info.value.body


def test_update_with_stale_resource_version_is_a_conflict(apps, ns):
    apps.create_namespaced_deployment(ns, _deployment("web"))
    # The deployment controller writes status right after the create: work from a fresh read.
    created = apps.read_namespaced_deployment("web", ns)
    stale = created.metadata.resource_version
    created.metadata.labels = {"a": "1"}
    apps.replace_namespaced_deployment("web", ns, created)
    created.metadata.resource_version = stale
    created.metadata.labels = {"a": "2"}
    with pytest.raises(client.ApiException) as info:
        apps.replace_namespaced_deployment("web", ns, created)
    assert info.value.status == 409
    assert ('Operation cannot be fulfilled on deployments.apps \\"web\\": the object has been modified; '
            'please apply your changes to the latest version and try again') in info.value.body


def test_creating_in_a_missing_namespace_is_namespace_not_found(raw):
    body = raw.request("POST", "/api/v1/namespaces/no-such-ns/configmaps", {"metadata": {"name": "x"}}).json()
    assert body["code"] == 404 and body["message"] == 'namespaces "no-such-ns" not found'
    assert body["details"] == {"name": "no-such-ns", "kind": "namespaces"}


def test_invalid_names_are_422_with_field_causes(raw, ns):
    missing = raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {}}).json()
    assert missing["code"] == 422 and missing["reason"] == "Invalid"
    assert missing["message"] == 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'
    bad = raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "Bad_Name"}}).json()
    assert bad["code"] == 422 and bad["details"]["causes"][0]["field"] == "metadata.name"
    assert "a lowercase RFC 1123 subdomain" in bad["message"]
    label = raw.request("POST", "/api/v1/namespaces", {"metadata": {"name": "a.b"}}).json()
    assert label["code"] == 422 and "RFC 1123 label" in label["message"]


def test_generate_name_appends_five_characters(raw, ns):
    body = raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"generateName": "gen-"}}).json()
    assert re.fullmatch(r"gen-[bcdfghjklmnpqrstvwxz2456789]{5}", body["metadata"]["name"])


def test_generation_bumps_on_spec_changes_only(apps, ns):
    apps.create_namespaced_deployment(ns, _deployment("gen"))
    assert apps.read_namespaced_deployment("gen", ns).metadata.generation == 1
    apps.patch_namespaced_deployment("gen", ns, {"metadata": {"labels": {"x": "y"}}})
    assert apps.read_namespaced_deployment("gen", ns).metadata.generation == 1
    apps.patch_namespaced_deployment("gen", ns, {"spec": {"replicas": 2}})
    assert apps.read_namespaced_deployment("gen", ns).metadata.generation == 2


def test_unchanged_update_keeps_the_resource_version(core, ns):
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "same"}, "data": {"a": "1"}})
    patched = core.patch_namespaced_config_map("same", ns, {"data": {"a": "1"}})
    assert patched.metadata.resource_version == created.metadata.resource_version


def test_delete_answers_status_or_object_as_the_registry_does(raw, ns):
    raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "gone"}})
    status = raw.request("DELETE", f"/api/v1/namespaces/{ns}/configmaps/gone", {"propagationPolicy": "Background"})
    assert status.status_code == 200
    body = status.json()
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "gone" and body["details"]["kind"] == "configmaps"
    raw.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "bot"}})
    account = raw.request("DELETE", f"/api/v1/namespaces/{ns}/serviceaccounts/bot").json()
    assert account["kind"] == "ServiceAccount" and account["metadata"]["name"] == "bot"
    again = raw.request("DELETE", f"/api/v1/namespaces/{ns}/serviceaccounts/bot")
    assert again.status_code == 404


def test_delete_with_a_uid_precondition_mismatch_is_a_conflict(raw, ns):
    raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "pre"}})
    response = raw.request("DELETE", f"/api/v1/namespaces/{ns}/configmaps/pre", {"preconditions": {"uid": "nope"}})
    assert response.status_code == 409 and "Precondition failed: UID in precondition: nope" in response.json()["message"]


def test_dry_run_writes_answer_like_real_writes_but_store_nothing(raw, ns):
    path = f"/api/v1/namespaces/{ns}/configmaps"
    created = raw.request("POST", path + "?dryRun=All", {"metadata": {"name": "dry"}, "data": {"a": "1"}})
    assert created.status_code == 201 and created.json()["metadata"]["uid"]
    assert "resourceVersion" not in created.json()["metadata"]
    assert raw.request("GET", f"{path}/dry").status_code == 404
    real = raw.request("POST", path, {"metadata": {"name": "wet"}, "data": {"a": "1"}}).json()
    rv = real["metadata"]["resourceVersion"]
    patched = raw.request("PATCH", f"{path}/wet?dryRun=All", {"data": {"a": "2"}}, "application/merge-patch+json")
    assert patched.status_code == 200 and patched.json()["data"] == {"a": "2"}
    put = dict(real, data={"a": "3"})
    assert raw.request("PUT", f"{path}/wet?dryRun=All", put).json()["data"] == {"a": "3"}
    applied = raw.request("PATCH", f"{path}/wet?dryRun=All&fieldManager=test&force=true",
                          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "wet"}, "data": {"a": "4"}},
                          "application/apply-patch+yaml")
    assert applied.status_code == 200 and applied.json()["data"]["a"] == "4"
    assert raw.request("DELETE", f"{path}/wet?dryRun=All").status_code == 200
    stored = raw.request("GET", f"{path}/wet").json()
    assert stored["data"] == {"a": "1"} and stored["metadata"]["resourceVersion"] == rv


def test_label_and_field_selectors_filter_lists(raw, ns, tools):
    for name, labels in (("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db", "env": "prod"}), ("c", {"tier": "web"})):
        raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": name, "labels": labels}})

    def names(selector: str) -> list[str]:
        out = tools.kubectl("get", "configmaps", "-n", ns, "-l", selector, "-o", "name").stdout.split()
        return sorted(n.split("/")[1] for n in out)

    assert names("tier=web") == ["a", "c"]
    assert names("tier==web,env=prod") == ["a"]
    assert names("tier!=web") == ["b", "kube-root-ca.crt"]
    assert names("tier in (db,cache)") == ["b"]
    assert names("tier notin (web)") == ["b", "kube-root-ca.crt"]
    assert names("env") == ["a", "b"]
    assert names("!env") == ["c", "kube-root-ca.crt"]
    by_field = tools.kubectl("get", "configmaps", "-n", ns, "--field-selector", "metadata.name=b", "-o", "name").stdout
    assert by_field.split() == ["configmap/b"]
    bad = raw.request("GET", f"/api/v1/namespaces/{ns}/configmaps?fieldSelector=spec.nope%3Dx")
    assert bad.status_code == 400 and bad.json()["message"] == "field label not supported: spec.nope"


def test_pod_status_phase_field_selector(raw, ns):
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
    assert raw.request("POST", f"/api/v1/namespaces/{ns}/pods", pod).status_code == 201
    running = raw.request("GET", f"/api/v1/namespaces/{ns}/pods?fieldSelector=status.phase%3DRunning").json()
    assert [p["metadata"]["name"] for p in running["items"]] == ["p"]
    pending = raw.request("GET", f"/api/v1/namespaces/{ns}/pods?fieldSelector=status.phase%3DPending").json()
    assert pending["items"] == []


def test_limit_and_continue_page_through_a_list(raw, ns):
    for index in range(5):
        raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": f"page-{index}"}})
    first = raw.request("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=4").json()
    assert len(first["items"]) == 4 and first["metadata"]["remainingItemCount"] == 2
    token = first["metadata"]["continue"]
    rest = raw.request("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=4&continue={token}").json()
    seen = [i["metadata"]["name"] for i in first["items"] + rest["items"]]
    assert seen == sorted(seen) and len(set(seen)) == 6 and "continue" not in rest["metadata"]


def test_namespace_has_active_phase_and_deleting_it_removes_its_objects(raw):
    name = f"doomed-{uuid.uuid4().hex[:6]}"
    created = raw.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}}).json()
    assert created["status"] == {"phase": "Active"}
    assert created["metadata"]["labels"]["kubernetes.io/metadata.name"] == name
    raw.request("POST", f"/api/v1/namespaces/{name}/configmaps", {"metadata": {"name": "inside"}})
    deleted = raw.request("DELETE", f"/api/v1/namespaces/{name}").json()
    assert deleted["kind"] == "Namespace" and deleted["status"]["phase"] == "Terminating"
    assert raw.request("GET", f"/api/v1/namespaces/{name}").status_code == 404
    leftovers = raw.request("GET", "/api/v1/configmaps").json()["items"]
    assert not [c for c in leftovers if c["metadata"]["namespace"] == name]


def test_system_namespaces_cannot_be_deleted(raw):
    body = raw.request("DELETE", "/api/v1/namespaces/kube-system").json()
    assert body["code"] == 403 and body["message"] == 'namespaces "kube-system" is forbidden: this namespace may not be deleted'


def test_deleting_an_owner_garbage_collects_dependents_unless_orphaned(raw, ns):
    owner = raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "owner"}}).json()
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    raw.request("POST", f"/api/v1/namespaces/{ns}/secrets", {"metadata": {"name": "child", "ownerReferences": [ref]}})
    raw.request("DELETE", f"/api/v1/namespaces/{ns}/configmaps/owner")
    assert raw.request("GET", f"/api/v1/namespaces/{ns}/secrets/child").status_code == 404
    owner = raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "owner"}}).json()
    ref["uid"] = owner["metadata"]["uid"]
    raw.request("POST", f"/api/v1/namespaces/{ns}/secrets", {"metadata": {"name": "child", "ownerReferences": [ref]}})
    raw.request("DELETE", f"/api/v1/namespaces/{ns}/configmaps/owner?propagationPolicy=Orphan")
    orphan = raw.request("GET", f"/api/v1/namespaces/{ns}/secrets/child").json()
    assert "ownerReferences" not in orphan["metadata"]


def test_cluster_scoped_object_ignores_a_body_namespace(raw):
    name = f"cr-{uuid.uuid4().hex[:6]}"
    role = {"metadata": {"name": name, "namespace": "default"}, "rules": []}
    body = raw.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", role).json()
    assert "namespace" not in body["metadata"]
    assert raw.request("GET", f"/apis/rbac.authorization.k8s.io/v1/namespaces/default/clusterroles/{name}").status_code == 404
    raw.request("DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}")


def test_request_log_records_method_path_and_status(clean_lab, raw):
    raw.request("GET", "/api/v1/namespaces/default/configmaps/nothing-here")
    entries = [e for e in clean_lab.requests("k8s") if "nothing-here" in e["path"]]
    assert entries and entries[-1]["method"] == "GET" and entries[-1]["status"] == 404


def test_injected_fault_is_a_kubernetes_status_with_retry_after(clean_lab, raw, core):
    clean_lab.fault(service="k8s", method="GET", path="/api/v1/namespaces/default/configmaps$", status=429,
                    message="slow down", retry_after=2, times=1)
    response = raw.request("GET", "/api/v1/namespaces/default/configmaps")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert response.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "slow down", "reason": "TooManyRequests",
                               "details": {"retryAfterSeconds": 2}, "code": 429}
    assert raw.request("GET", "/api/v1/namespaces/default/configmaps").status_code == 200
    clean_lab.fault(service="k8s", method="POST", path="/configmaps", status=500, times=1)
    with pytest.raises(client.ApiException) as info:
        core.create_namespaced_config_map("default", {"metadata": {"name": "faulted"}})
    assert info.value.status == 500 and '"reason": "InternalError"' in info.value.body
    clean_lab.fault(service="k8s", path="/configmaps/x$", status=409, code="Conflict", message="forced", times=1)
    assert raw.request("PUT", "/api/v1/namespaces/default/configmaps/x", {}).json()["reason"] == "Conflict"


def test_services_get_cluster_ips_and_load_balancers_an_ingress_ip(raw, ns):
    ports = [{"port": 80, "name": "http"}]
    services = f"/api/v1/namespaces/{ns}/services"
    plain = raw.request("POST", services, {"metadata": {"name": "plain"}, "spec": {"ports": ports}}).json()
    assert plain["spec"]["type"] == "ClusterIP" and plain["spec"]["clusterIP"].startswith("10.0.")
    assert plain["spec"]["ports"][0] == {"port": 80, "name": "http", "protocol": "TCP", "targetPort": 80}
    public = raw.request("POST", services, {"metadata": {"name": "public"},
                                            "spec": {"type": "LoadBalancer", "ports": ports}}).json()
    assert public["status"]["loadBalancer"]["ingress"][0]["ip"]
    bad = raw.request("POST", services, {"metadata": {"name": "1bad"}, "spec": {"ports": ports}}).json()
    assert bad["code"] == 422 and "DNS-1035 label" in bad["message"]


def test_server_side_table_rows_carry_partial_object_metadata(raw, ns):
    raw.request("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "t", "labels": {"a": "b"}}, "data": {"k": "v"}})
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = raw.request("GET", f"/api/v1/namespaces/{ns}/configmaps?labelSelector=a%3Db", headers={"Accept": accept}).json()
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    row = table["rows"][0]
    assert row["cells"][:2] == ["t", 1]
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["labels"] == {"a": "b"}
