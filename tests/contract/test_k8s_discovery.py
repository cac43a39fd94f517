"""Contract: discovery, OpenAPI stubs and authentication of the lab Kubernetes API."""

from __future__ import annotations

import os
import uuid

import pytest
from lab.testing import REPO_ROOT
from kubernetes import client, dynamic

from lab import ids
from lab.k8s.testing import Raw, Tools, api_client

# The real KEDA CRDs live in ../shared beside the repository (as in CI).
SCALEDOBJECT_CRD = os.path.join(os.path.dirname(REPO_ROOT), "shared", "reference", "keda", "keda.sh_scaledobjects.yaml")


@pytest.fixture(scope="module")
def raw(lab):
    return Raw(lab.env["LAB_KUBE_URL"], lab.ca_file, ids.KUBE_ADMIN_TOKEN)


@pytest.fixture(scope="module")
def tools(lab, tmp_path_factory):
    return Tools(lab.env, REPO_ROOT, str(tmp_path_factory.mktemp("kubectl")))


def _widget_crd(group: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wdg"],
                           "categories": ["all", "lab"]},
                 "versions": [
                     {"name": "v1beta1", "served": True, "storage": False,
                      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
                     {"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
                     {"name": "v1alpha1", "served": False, "storage": False,
                      "schema": {"openAPIV3Schema": {"type": "object"}}}]},
    }


def test_version_is_the_default_aks_clusters_and_needs_no_token(raw):
    response = raw.request("GET", "/version", token=None)
    assert response.status_code == 200
    body = response.json()
    assert body["major"] == "1" and body["minor"] == "35"
    assert body["gitVersion"].startswith("v1.35.")


def test_api_root_lists_core_v1_and_core_resources_with_subresources(raw):
    assert raw.request("GET", "/api").json()["versions"] == ["v1"]
    listing = raw.request("GET", "/api/v1").json()
    assert listing["kind"] == "APIResourceList" and listing["groupVersion"] == "v1"
    names = {r["name"]: r for r in listing["resources"]}
    for plural in ("namespaces", "serviceaccounts", "secrets", "configmaps", "pods", "services", "events"):
        assert plural in names, plural
    assert names["namespaces"]["namespaced"] is False
    assert names["pods"]["namespaced"] is True and "po" in names["pods"]["shortNames"]
    token = names["serviceaccounts/token"]
    assert token["kind"] == "TokenRequest" and token["group"] == "authentication.k8s.io" and token["verbs"] == ["create"]


def test_apis_lists_builtin_groups_with_preferred_versions(raw):
    groups = {g["name"]: g for g in raw.request("GET", "/apis").json()["groups"]}
    for name in ("apps", "batch", "apiextensions.k8s.io", "authentication.k8s.io"):
        assert groups[name]["preferredVersion"]["version"] == "v1"
    apps = raw.request("GET", "/apis/apps/v1").json()
    kinds = {r["name"]: r["kind"] for r in apps["resources"]}
    assert kinds["deployments"] == "Deployment" and kinds["deployments/scale"] == "Scale"
    assert {"replicasets", "statefulsets", "daemonsets"} <= set(kinds)


def test_crd_registers_served_versions_scope_and_names_in_discovery(raw):
    group = f"g{uuid.uuid4().hex[:6]}.lab.example.com"
    assert raw.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", _widget_crd(group)).status_code == 201
    try:
        entry = next(g for g in raw.request("GET", "/apis").json()["groups"] if g["name"] == group)
        assert [v["version"] for v in entry["versions"]] == ["v1", "v1beta1"]  # unserved v1alpha1 is absent
        assert entry["preferredVersion"]["version"] == "v1"
        resource = next(r for r in raw.request("GET", f"/apis/{group}/v1").json()["resources"] if r["name"] == "widgets")
        assert resource["singularName"] == "widget" and resource["kind"] == "Widget" and resource["namespaced"] is True
        assert resource["shortNames"] == ["wdg"] and resource["categories"] == ["all", "lab"]
        assert raw.request("GET", f"/apis/{group}/v1alpha1").status_code == 404
    finally:
        raw.request("DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{group}")
    assert all(g["name"] != group for g in raw.request("GET", "/apis").json()["groups"])


def test_aggregated_discovery_request_falls_back_to_plain_group_list(raw):
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
    response = raw.request("GET", "/apis", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["kind"] == "APIGroupList"


def test_unknown_group_is_a_bare_404_but_unknown_resource_is_a_not_found_status(raw):
    missing_group = raw.request("GET", "/apis/keda-missing.example.com/v1alpha1/namespaces/default/things")
    assert missing_group.status_code == 404
    assert missing_group.headers["Content-Type"].startswith("text/plain")
    assert missing_group.text.strip() == "404 page not found"
    missing_resource = raw.request("GET", "/apis/apps/v1/namespaces/default/things")
    assert missing_resource.status_code == 404
    assert missing_resource.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                       "message": "the server could not find the requested resource",
                                       "reason": "NotFound", "details": {}, "code": 404}


def test_openapi_v3_declares_field_validation_and_carries_the_kinds_schemas(raw):
    root = raw.request("GET", "/openapi/v3").json()
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    doc = raw.request("GET", url).json()
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    deployment = doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment["properties"]["spec"] == {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
    assert "apis/apiregistration.k8s.io/v1" in root["paths"] and "apis/networking.k8s.io/v1" in root["paths"]


def test_openapi_is_served_as_json_and_protobuf_only_requests_are_not_acceptable(raw):
    v2 = raw.request("GET", "/openapi/v2")
    assert v2.status_code == 200 and v2.json()["swagger"] == "2.0"
    assert "io.k8s.api.core.v1.Pod" in v2.json()["definitions"]
    protobuf = raw.request("GET", "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert protobuf.status_code == 406 and protobuf.json()["reason"] == "NotAcceptable"


def test_requests_without_or_with_a_wrong_token_are_unauthorized(raw):
    for token in (None, "not-a-token"):
        response = raw.request("GET", "/api/v1/namespaces", token=token)
        assert response.status_code == 401
        assert response.json()["reason"] == "Unauthorized" and response.json()["message"] == "Unauthorized"


def test_unsupported_accept_is_not_acceptable(raw):
    response = raw.request("GET", "/api/v1/namespaces", headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert response.json()["reason"] == "NotAcceptable"


def test_python_dynamic_client_discovers_a_crd_kind(lab, tools):
    tools.kubectl("apply", "--server-side", "-f", SCALEDOBJECT_CRD)
    dyn = dynamic.DynamicClient(api_client(lab.env["KUBECONFIG"]))
    scaled = dyn.resources.get(api_version="keda.sh/v1alpha1", kind="ScaledObject")
    assert scaled.namespaced and scaled.name == "scaledobjects" and scaled.short_names == ["so"]
    namespaces = client.CoreV1Api(api_client(lab.env["KUBECONFIG"])).list_namespace()
    assert {"default", "kube-system"} <= {n.metadata.name for n in namespaces.items}


def test_kubectl_api_resources_shows_crd_short_names(tools):
    tools.kubectl("apply", "--server-side", "-f", SCALEDOBJECT_CRD)
    out = tools.kubectl("api-resources", "--api-group=keda.sh").stdout
    assert "scaledobjects" in out and " so " in out
