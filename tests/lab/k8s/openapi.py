"""The API server's OpenAPI: ``/openapi/v3`` (root and one document per group version) and ``/openapi/v2``.

What clients read from it (kube-openapi's handlers, k8s.io/kube-openapi/pkg/handler3):
- client-go's query-param verifier (kubectl and helm, before every write) looks for the PATCH
  operation of a kind, by ``x-kubernetes-group-version-kind``, and its ``fieldValidation``
  parameter; finding it, they leave field validation to the server, as with any apiserver >= 1.27.
- ``kubectl explain`` (OpenAPI v3 by default) finds the kind in ``components.schemas`` by its
  ``x-kubernetes-group-version-kind`` and follows ``$ref``s for nested fields.

Schemas: built-in kinds are described from the ``kubernetes`` client's models (generated from the
Kubernetes OpenAPI spec: descriptions, types, required fields), named as the spec names them
(``io.k8s.api.apps.v1.Deployment``); a custom resource's schema is its CRD's ``openAPIV3Schema``
with ``metadata`` pointing at ObjectMeta, named by reversed group (``sh.keda.v1alpha1.ScaledObject``)
as apiextensions-apiserver publishes it. The PATCH operations carry no request body, so kubectl's
apply keeps computing strategic merge patches from its compiled-in types (the client models do not
carry the ``x-kubernetes-patch-*`` extensions those need).

Content negotiation: JSON is served; the protobuf forms (``application/com.github.proto-openapi
.spec.v2@v1.0+protobuf``, which client-go asks for on /openapi/v2) are answered 406, which clients
take as "no OpenAPI v2" and fall back from (kubectl apply) or report.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from typing import Any

from .resources import Registry, ResourceType

KUBERNETES_VERSION = "v1.35.2"  # the default AKS cluster (azure/aks_versions.py)
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
# apimachinery's meta/v1 types, wherever a kind refers to them.
_META_TYPES = {"ObjectMeta", "ListMeta", "LabelSelector", "LabelSelectorRequirement", "OwnerReference",
               "ManagedFieldsEntry", "Condition", "Status", "StatusDetails", "StatusCause", "DeleteOptions",
               "Preconditions", "APIResource", "APIResourceList", "APIGroup", "APIGroupList", "APIVersions",
               "GroupVersionForDiscovery", "ServerAddressByClientCIDR", "WatchEvent"}
# Group -> the Go package the spec names its definitions after.
_PACKAGES = {
    "": "io.k8s.api.core", "apps": "io.k8s.api.apps", "batch": "io.k8s.api.batch",
    "autoscaling": "io.k8s.api.autoscaling", "policy": "io.k8s.api.policy",
    "rbac.authorization.k8s.io": "io.k8s.api.rbac", "networking.k8s.io": "io.k8s.api.networking",
    "authentication.k8s.io": "io.k8s.api.authentication",
    "admissionregistration.k8s.io": "io.k8s.api.admissionregistration",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    "apiregistration.k8s.io": "io.k8s.kube-aggregator.pkg.apis.apiregistration",
}
_MODEL_NAME = re.compile(r"^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)([A-Z].*)$")
_PROTOBUF = "application/com.github.proto-openapi"


def gv_path(group: str, ver: str) -> str:
    return f"api/{ver}" if not group else f"apis/{group}/{ver}"


# -- built-in kinds, from the client's models -------------------------------------------------------

def _model(rt: ResourceType) -> Any:
    from kubernetes.client import models  # pylint: disable=import-outside-toplevel
    return getattr(models, rt.version.capitalize() + rt.kind, None)


def _clean_description(text: str) -> str:
    # The generator appends its own attribute notes to class docstrings.
    return text.split("\n\nAttributes:")[0].strip()


class _Namer:
    """Pydantic model names (V1PodSpec) -> the spec's definition names (io.k8s.api.core.v1.PodSpec)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def name(self, model_name: str, group: str) -> str:
        if model_name not in self.names:
            match = _MODEL_NAME.match(model_name)
            hint, ver, kind = match.groups() if match else (None, "v1", model_name)
            ver = ver.lower()
            if kind in _META_TYPES:
                package = META
            elif hint and hint.lower() == "core":
                package = f"io.k8s.api.core.{ver}"
            else:
                package = f"{_PACKAGES.get(group, 'io.k8s.api.core')}.{ver}"
            self.names[model_name] = f"{package}.{kind}"
        return self.names[model_name]


def _convert(node: Any, refs: dict[str, str]) -> Any:
    """Pydantic's JSON schema -> OpenAPI v3 as kube-openapi writes it."""
    if isinstance(node, list):
        return [_convert(item, refs) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    for key in ("title", "default"):
        node.pop(key, None)
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if isinstance(node.get("description"), str):
        node["description"] = _clean_description(node["description"])
    options = node.pop("anyOf", None)
    if options is not None:
        options = [o for o in options if o != {"type": "null"}]
        types = sorted(o.get("type", "") for o in options)
        if types == ["integer", "string"]:
            node["allOf"] = [{"$ref": f"#/components/schemas/{INT_OR_STRING}"}]
        elif len(options) == 1:
            node.update(options[0])
        else:
            node["anyOf"] = options
    if "$ref" in node and not node["$ref"].startswith("#/components/"):
        target = {"$ref": "#/components/schemas/" + refs[node.pop("$ref").rsplit("/", 1)[-1]]}
        # kube-openapi keeps a field's own description beside the reference.
        if node:
            node["allOf"] = [target]
        else:
            node = target
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            converted[key] = {name: _convert(sub, refs) for name, sub in value.items()}
        elif key in ("description", "enum", "example", "x-kubernetes-group-version-kind"):
            converted[key] = value
        else:
            converted[key] = _convert(value, refs)
    return converted


@functools.cache
def _builtin_schemas(kinds: tuple[ResourceType, ...]) -> dict[str, dict[str, Any]]:
    """Every definition the built-in kinds reach, keyed by spec name (computed once)."""
    namer = _Namer()
    schemas: dict[str, dict[str, Any]] = {
        INT_OR_STRING: {"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": True},
    }
    # Core first, so the types pods and services share are named after core/v1.
    for rt in sorted(kinds, key=lambda r: r.group != ""):
        model = _model(rt)
        if model is None:
            continue
        generated = model.model_json_schema(by_alias=True, mode="serialization")
        defs = generated.pop("$defs", {})
        refs = {name: namer.name(name, rt.group) for name in defs}
        refs[model.__name__] = kind_name(rt)
        for name, schema in defs.items():
            schemas.setdefault(refs[name], _convert(schema, refs))
        schema = _convert(generated, refs)
        schema["x-kubernetes-group-version-kind"] = [{"group": rt.group, "kind": rt.kind, "version": rt.version}]
        schemas[kind_name(rt)] = schema
    return schemas


def kind_name(rt: ResourceType) -> str:
    if rt.builtin:
        package = _PACKAGES.get(rt.group, "io.k8s.api." + rt.group.split(".")[0])
        return f"{package}.{rt.version}.{rt.kind}"
    # apiextensions-apiserver: the group's labels reversed, then version and kind.
    return ".".join(reversed(rt.group.split("."))) + f".{rt.version}.{rt.kind}"


def _crd_schema(rt: ResourceType) -> dict[str, Any]:
    schema: dict[str, Any] = (copy.deepcopy(rt.schema) if rt.schema
                              else {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    properties = schema.setdefault("properties", {})
    properties["metadata"] = {
        "description": "Standard object's metadata. More info: "
                       "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "allOf": [{"$ref": f"#/components/schemas/{META}.ObjectMeta"}]}
    schema["x-kubernetes-group-version-kind"] = [{"group": rt.group, "kind": rt.kind, "version": rt.version}]
    return schema


def _reachable(schemas: dict[str, dict[str, Any]], roots: list[str]) -> dict[str, dict[str, Any]]:
    """The named schemas and every definition they reference, as one document carries them."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in found or name not in schemas:
            continue
        found[name] = schemas[name]
        pending.extend(m.rsplit("/", 1)[-1] for m in re.findall(r'"\$ref": "([^"]+)"', json.dumps(schemas[name])))
    return dict(sorted(found.items()))


def _schemas(registry: Registry, kinds: list[ResourceType]) -> dict[str, dict[str, Any]]:
    builtins = _builtin_schemas(tuple(rt for rt in registry.all() if rt.builtin))
    pool = dict(builtins)
    for rt in kinds:
        if not rt.builtin:
            pool[kind_name(rt)] = _crd_schema(rt)
    return _reachable(pool, [kind_name(rt) for rt in kinds])


# -- documents ---------------------------------------------------------------------------------

def _paths(kinds: list[ResourceType], group: str, ver: str, ref_prefix: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for rt in kinds:
        if "patch" not in rt.verbs:
            continue
        prefix = "/" + gv_path(group, ver)
        item = f"{prefix}/namespaces/{{namespace}}/{rt.plural}/{{name}}" if rt.namespaced else f"{prefix}/{rt.plural}/{{name}}"
        gvk = {"group": group, "version": ver, "kind": rt.kind}
        params = [{"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                  for name in ("dryRun", "fieldManager", "fieldValidation", "force")]
        ok = {"200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": ref_prefix + kind_name(rt)}}}}}
        paths[item] = {
            "get": {"operationId": f"read{rt.kind}", "x-kubernetes-action": "get",
                    "x-kubernetes-group-version-kind": gvk, "responses": ok},
            "patch": {"operationId": f"patch{rt.kind}", "x-kubernetes-action": "patch",
                      "x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": ok},
        }
    return paths


def v3_document(registry: Registry, group: str, ver: str) -> dict[str, Any]:
    kinds = [rt for rt in registry.all() if rt.group == group and rt.version == ver]
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
            "paths": _paths(kinds, group, ver, "#/components/schemas/"),
            "components": {"schemas": _schemas(registry, kinds)}}


def v3_root(registry: Registry) -> dict[str, Any]:
    paths = {}
    for group, versions in registry.group_versions().items():
        for ver in versions:
            doc = json.dumps(v3_document(registry, group, ver), sort_keys=True).encode()
            digest = hashlib.sha512(doc).hexdigest().upper()[:128]
            paths[gv_path(group, ver)] = {"serverRelativeURL": f"/openapi/v3/{gv_path(group, ver)}?hash={digest}"}
    return {"paths": paths}


def v2_document(registry: Registry) -> dict[str, Any]:
    kinds = registry.all()
    definitions = json.loads(json.dumps(_schemas(registry, kinds)).replace("#/components/schemas/", "#/definitions/"))
    paths: dict[str, Any] = {}
    for group, versions in registry.group_versions().items():
        for ver in versions:
            paths.update(_paths([rt for rt in kinds if rt.group == group and rt.version == ver], group, ver,
                                "#/definitions/"))
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
            "paths": paths, "definitions": definitions}


def wants_protobuf_only(accept: str) -> bool:
    """True when every type the client accepts is a protobuf form (we serve JSON only)."""
    types = [t.split(";")[0].strip() for t in accept.split(",") if t.strip()]
    return bool(types) and all(t.startswith(_PROTOBUF) for t in types)
