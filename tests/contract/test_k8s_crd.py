"""Contract: CustomResourceDefinitions and custom resources (schema, status subresource, lifecycle)."""

from __future__ import annotations

import os
import uuid

import pytest
from lab.testing import REPO_ROOT


KEDA = os.path.join(os.path.dirname(REPO_ROOT), "shared", "reference", "keda")
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@pytest.fixture(scope="module")
def keda(tools):
    for name in ("scaledobjects", "triggerauthentications", "clustertriggerauthentications"):
        tools.kubectl("apply", "--server-side", "-f", os.path.join(KEDA, f"keda.sh_{name}.yaml"))


def _trigger_auth(name: str, provider: str = "azure-workload", **extra) -> dict:
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication", "metadata": {"name": name},
            "spec": {"podIdentity": {"provider": provider, **extra}}}


def _simple_crd(group: str, plural: str, kind: str, scope: str = "Namespaced") -> dict:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                               "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope, "names": {"plural": plural, "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema},
                                   "subresources": {"status": {}}}]}}


def test_crd_gets_established_conditions_and_accepted_names(raw, keda):
    crd = raw.request("GET", f"{CRDS}/triggerauthentications.keda.sh").json()
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]} == {"NamesAccepted": "True", "Established": "True"}
    assert crd["status"]["acceptedNames"]["shortNames"] == ["ta", "triggerauth"]
    assert crd["status"]["storedVersions"] == ["v1alpha1"]


def test_schema_enum_rejects_the_removed_azure_pod_identity_provider(raw, ns, keda):
    path = f"/apis/keda.sh/v1alpha1/namespaces/{ns}/triggerauthentications"
    assert raw.request("POST", path, _trigger_auth("ok", identityId="abc")).status_code == 201
    rejected = raw.request("POST", path, _trigger_auth("old", "azure")).json()
    assert rejected["code"] == 422 and rejected["reason"] == "Invalid"
    assert rejected["message"] == ('TriggerAuthentication.keda.sh "old" is invalid: spec.podIdentity.provider: Unsupported '
                                   'value: "azure": supported values: "azure-workload", "gcp", "aws", "aws-eks", "none"')
    assert rejected["details"]["causes"][0]["field"] == "spec.podIdentity.provider"


def test_schema_types_and_required_fields_are_validated(raw, ns, keda):
    body = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "bad"},
            "spec": {"scaleTargetRef": {}, "minReplicaCount": "one"}}
    rejected = raw.request("POST", f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects", body).json()
    assert rejected["code"] == 422
    fields = {c["field"]: c["message"] for c in rejected["details"]["causes"]}
    assert fields["spec.triggers"] == "Required value"
    assert fields["spec.scaleTargetRef.name"] == "Required value"
    assert fields["spec.minReplicaCount"] == ('Invalid value: "string": spec.minReplicaCount in body must be of type '
                                              'integer: "string"')


def test_unknown_fields_are_pruned_with_a_warning_or_refused_when_strict(raw, ns, keda):
    path = f"/apis/keda.sh/v1alpha1/namespaces/{ns}/triggerauthentications"
    body = _trigger_auth("pruned")
    body["spec"]["bogus"] = True
    created = raw.request("POST", path, body)
    assert created.status_code == 201 and "bogus" not in created.json()["spec"]
    assert created.headers["Warning"] == '299 - "unknown field \\"spec.bogus\\""'
    body["metadata"]["name"] = "strict"
    strict = raw.request("POST", path + "?fieldValidation=Strict", body).json()
    assert strict["code"] == 400 and strict["message"] == 'strict decoding error: unknown field "spec.bogus"'


def test_status_subresource_separates_spec_and_status_writes(raw, ns, keda):
    path = f"/apis/keda.sh/v1alpha1/namespaces/{ns}/triggerauthentications"
    body = _trigger_auth("st")
    body["status"] = {"scaledobjects": "ignored-on-create"}
    created = raw.request("POST", path, body).json()
    assert "status" not in created and created["metadata"]["generation"] == 1
    current = raw.request("GET", f"{path}/st").json()
    current["status"] = {"scaledobjects": "via-main"}
    assert "status" not in raw.request("PUT", f"{path}/st", current).json()
    status = raw.request("PATCH", f"{path}/st/status", {"status": {"scaledobjects": "so-1"}},
                         "application/merge-patch+json").json()
    assert status["status"] == {"scaledobjects": "so-1"} and status["metadata"]["generation"] == 1
    spec = raw.request("PATCH", f"{path}/st", {"spec": {"podIdentity": {"identityId": "x"}}},
                       "application/merge-patch+json").json()
    assert spec["metadata"]["generation"] == 2 and spec["status"] == {"scaledobjects": "so-1"}


def test_cluster_scoped_custom_resource_lives_outside_namespaces(raw, keda):
    name = f"cta-{uuid.uuid4().hex[:6]}"
    body = dict(_trigger_auth(name), kind="ClusterTriggerAuthentication")
    created = raw.request("POST", "/apis/keda.sh/v1alpha1/clustertriggerauthentications", body)
    assert created.status_code == 201 and "namespace" not in created.json()["metadata"]
    assert raw.request("GET", f"/apis/keda.sh/v1alpha1/namespaces/default/clustertriggerauthentications/{name}").status_code == 404
    deleted = raw.request("DELETE", f"/apis/keda.sh/v1alpha1/clustertriggerauthentications/{name}").json()
    assert deleted["kind"] == "ClusterTriggerAuthentication"  # custom resources return the deleted object


def test_deleting_a_crd_removes_its_objects_and_its_kind(raw, ns):
    group = f"g{uuid.uuid4().hex[:6]}.lab.example.com"
    raw.request("POST", CRDS, _simple_crd(group, "gizmos", "Gizmo"))
    raw.request("POST", CRDS, _simple_crd(group, "gadgets", "Gadget"))
    assert raw.request("POST", f"/apis/{group}/v1/namespaces/{ns}/gizmos",
                       {"apiVersion": f"{group}/v1", "kind": "Gizmo", "metadata": {"name": "g"}}).status_code == 201
    deleted = raw.request("DELETE", f"{CRDS}/gizmos.{group}").json()
    assert deleted["kind"] == "CustomResourceDefinition" and deleted["metadata"]["deletionTimestamp"]
    gone = raw.request("GET", f"/apis/{group}/v1/namespaces/{ns}/gizmos/g")
    assert gone.status_code == 404 and gone.json()["message"] == "the server could not find the requested resource"
    raw.request("POST", CRDS, _simple_crd(group, "gizmos", "Gizmo"))
    assert raw.request("GET", f"/apis/{group}/v1/namespaces/{ns}/gizmos").json()["items"] == []
    for plural in ("gizmos", "gadgets"):
        raw.request("DELETE", f"{CRDS}/{plural}.{group}")
    assert raw.request("GET", f"/apis/{group}/v1").status_code == 404


def test_crd_name_must_be_plural_dot_group(raw):
    body = _simple_crd("names.lab.example.com", "things", "Thing")
    body["metadata"]["name"] = "wrong.names.lab.example.com"
    rejected = raw.request("POST", CRDS, body).json()
    assert rejected["code"] == 422
    assert 'metadata.name: Invalid value: "wrong.names.lab.example.com": must be spec.names.plural+"."+spec.group' in rejected["message"]


def test_custom_resource_kind_must_match_the_url(raw, ns, keda):
    body = _trigger_auth("mismatch")
    body["apiVersion"] = "keda.sh/v1"
    rejected = raw.request("POST", f"/apis/keda.sh/v1alpha1/namespaces/{ns}/triggerauthentications", body).json()
    assert rejected["code"] == 400
    assert rejected["message"] == ("the API version in the data (keda.sh/v1) does not match the expected API version "
                                   "(keda.sh/v1alpha1)")


def test_custom_resource_replace_requires_a_resource_version(raw, ns, keda):
    path = f"/apis/keda.sh/v1alpha1/namespaces/{ns}/triggerauthentications"
    created = raw.request("POST", path, _trigger_auth("rv")).json()
    created["metadata"].pop("resourceVersion")
    rejected = raw.request("PUT", f"{path}/rv", created).json()
    assert rejected["code"] == 422
    assert rejected["message"] == ('TriggerAuthentication.keda.sh "rv" is invalid: metadata.resourceVersion: '
                                   'Invalid value: 0x0: must be specified for an update')
