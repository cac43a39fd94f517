"""HTTP routing for the emulated apiserver: paths, verbs, query parameters and bodies (list and watch: listwatch.py).

Path layout (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go):
``/api/v1[/watch][/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]`` and the same under
``/apis/{group}/{version}``. An unknown group or version is a bare ``404 page not found`` (no
route), an unknown resource inside a served group version is a ``NotFound`` Status with empty
details: clients tell "CRD not installed" from "object missing" by exactly that difference.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import yaml

from .. import ids
from ..core import Request, Response, StreamWriter
from . import authz, discovery, errors, openapi, protobuf, protobuf_kinds, tables, tokens
from .api import BUILTIN_PATCH_TYPES, CUSTOM_PATCH_TYPES, PATCH_APPLY, PATCH_JSON, PATCH_STRATEGIC
from .listwatch import ListWatch
from .options import Options
from .patch import PatchError, json_patch, merge_patch, strategic_merge
from .resources import ResourceType
from .responses import JSON, json_response, status_response, text_404, truthy
from .selectors import Selector

if TYPE_CHECKING:
    from .service import KubernetesService

ACCEPTED_BODIES = [JSON, "application/yaml", protobuf.CONTENT_TYPE]
ADMIN = {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
# Protobuf request bodies of the kinds served from their own files.
protobuf.DECODERS.update(authz.DECODERS)
protobuf.DECODERS.update(protobuf_kinds.DECODERS)


class PageNotFound(Exception):
    """No route at all: the mux's plain-text 404."""


class Route:
    __slots__ = ("group", "name", "namespace", "resource", "subresource", "version", "watch")

    def __init__(self) -> None:
        self.group = ""
        self.version = ""
        self.namespace: str | None = None
        self.resource = ""
        self.name: str | None = None
        self.subresource = ""
        self.watch = False


class Router:
    def __init__(self, service: KubernetesService):
        self.service = service
        self.api = service.api
        self.listwatch = ListWatch(service.api)

    # -- entry -------------------------------------------------------------------------------

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        path = request.path.rstrip("/") or "/"
        public = self._public(request, path)
        if public is not None:
            return public
        user = self._authenticate(request)
        if user is None:
            return status_response(errors.ApiError(401, "Unauthorized", "Unauthorized"))
        try:
            return self._dispatch(request, stream, path, user)
        except PageNotFound:
            return text_404()
        except errors.ApiError as exc:
            return status_response(exc)

    def _public(self, request: Request, path: str) -> Response | None:
        issuer_path = self.service.issuer_path.rstrip("/")
        if path == "/version":
            return self._json(200, discovery.version(self.service.kubernetes_version()))
        if path in PUBLIC_PATHS:
            return Response(200, b"ok", {"Content-Type": "text/plain; charset=utf-8"})
        if request.method not in ("GET", "HEAD"):
            return None
        for prefix, issuer in (("", self.service.api_root_issuer), (issuer_path, self.service.issuer_url)):
            if path == prefix + "/.well-known/openid-configuration":
                jwks_uri = (self.service.url + "/openid/v1/jwks") if not prefix else issuer + "openid/v1/jwks"
                return self._json(200, self.service.issuer.discovery(issuer, jwks_uri))
            if path == prefix + "/openid/v1/jwks":
                return Response(200, json.dumps(self.service.issuer.jwks()).encode(),
                                {"Content-Type": "application/jwk-set+json"})
        return None

    def _authenticate(self, request: Request) -> dict[str, Any] | None:
        header = request.headers.get("Authorization") or ""
        scheme, _space, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip()
        if token == ids.KUBE_ADMIN_TOKEN:
            return ADMIN
        return tokens.authenticate(self.api, token)

    def _json(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return json_response(code, payload, headers)

    # -- routing -----------------------------------------------------------------------------

    def _dispatch(self, request: Request, stream: StreamWriter, path: str, user: dict[str, Any]) -> Response | None:
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == "openapi":
            return self._openapi(request, parts)
        self._check_accept(request)
        registry = self.api.registry
        if not parts:
            raise PageNotFound()
        if parts[0] == "api":
            if len(parts) == 1:
                return self._json(200, discovery.api_versions(self.service.url.split("//", 1)[-1]))
            if parts[1] != "v1":
                raise PageNotFound()
            route = Route()
            route.version = "v1"
            rest = parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                return self._json(200, discovery.group_list(registry, self.service.aggregator.groups()))
            group_doc = discovery.api_group(registry, parts[1])
            if group_doc is None:
                aggregated = self.service.aggregator.group(parts[1])
                if aggregated is not None and len(parts) == 2:
                    return self._json(200, aggregated)
                proxied = self.service.aggregator.serve(request, parts[1], parts[2], parts[3:], user) \
                    if aggregated is not None else None
                if proxied is not None:
                    return proxied
                raise PageNotFound()
            if len(parts) == 2:
                return self._json(200, group_doc)
            if not registry.has_group_version(parts[1], parts[2]):
                raise PageNotFound()
            route = Route()
            route.group, route.version = parts[1], parts[2]
            rest = parts[3:]
        else:
            raise PageNotFound()
        if not rest:
            if request.method not in ("GET", "HEAD"):
                raise errors.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return self._json(200, discovery.resource_list(registry, route.group, route.version))
        if rest[0] == "watch":
            route.watch = True
            rest = rest[1:]
        if len(rest) >= 3 and rest[0] == "namespaces" and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            route.namespace = rest[1]
            rest = rest[2:]
        if not rest or len(rest) > 3:
            raise errors.resource_not_found()
        route.resource = rest[0]
        route.name = rest[1] if len(rest) > 1 else None
        route.subresource = rest[2] if len(rest) > 2 else ""
        rt = registry.lookup(route.group, route.version, route.resource)
        if rt is None or (route.namespace is not None and not rt.namespaced):
            raise errors.resource_not_found()
        if route.subresource and route.subresource not in rt.subresources:
            raise errors.resource_not_found()
        return self._resource(request, stream, route, rt, user)

    def _openapi(self, request: Request, parts: list[str]) -> Response:
        registry = self.api.registry
        if openapi.wants_protobuf_only(request.headers.get("Accept") or ""):
            raise errors.not_acceptable([JSON])
        if parts[1:] == ["v2"]:
            return self._json(200, openapi.v2_document(registry))
        if parts[1:] == ["v3"]:
            return self._json(200, openapi.v3_root(registry))
        if len(parts) >= 3 and parts[1] == "v3":
            gv = parts[2:]
            if gv[0] == "api" and len(gv) == 2 and gv[1] == "v1":
                return self._json(200, openapi.v3_document(registry, "", "v1"))
            if gv[0] == "apis" and len(gv) == 3 and registry.has_group_version(gv[1], gv[2]):
                return self._json(200, openapi.v3_document(registry, gv[1], gv[2]))
        raise PageNotFound()

    @staticmethod
    def _check_accept(request: Request) -> None:
        accept = request.headers.get("Accept") or ""
        if not accept.strip():
            return
        for item in accept.split(","):
            media = item.split(";")[0].strip().lower()
            if media in ("*/*", "application/*", JSON, "application/yaml", protobuf.CONTENT_TYPE,
                         "application/json-patch+json", "application/merge-patch+json"):
                return
        raise errors.not_acceptable([JSON, "application/yaml", protobuf.CONTENT_TYPE])

    # -- resources ---------------------------------------------------------------------------

    def _verb(self, rt: ResourceType, verb: str) -> None:
        if verb not in rt.verbs:
            raise errors.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _resource(self, request: Request, stream: StreamWriter, route: Route, rt: ResourceType,
                  user: dict[str, Any]) -> Response | None:
        method = request.method
        ns = route.namespace
        if rt.namespaced and route.name is not None and ns is None:
            raise errors.resource_not_found()
        if route.watch or (method == "GET" and route.name is None and truthy(request.arg("watch"))):
            self._verb(rt, "watch")
            return self.listwatch.watch(request, stream, rt, ns, route.name)
        if method in ("GET", "HEAD"):
            if route.name is None:
                self._verb(rt, "list")
                return self.listwatch.list_objects(request, rt, ns)
            self._verb(rt, "get")
            if route.subresource == "scale":
                return self._json(200, self.api.scale(rt, ns, route.name))
            if route.subresource == "log":
                return self._pod_log(request, ns or "", route.name)
            if route.subresource in ("", "status"):
                obj = self.api.get(rt, ns, route.name)
                if not route.subresource and tables.wants_table(request.headers.get("Accept") or ""):
                    return self.listwatch.table(request, rt, [obj], obj["metadata"].get("resourceVersion", ""))
                return self._json(200, obj)
            raise errors.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method == "POST":
            return self._post(request, route, rt, user)
        if route.name is None:
            if method == "DELETE":
                self._verb(rt, "deletecollection")
                opts = self._delete_options(request)
                selector = Selector(request.arg("labelSelector"), request.arg("fieldSelector"), rt.group, rt.kind)
                return self._json(200, self.api.delete_collection(rt, ns, selector, opts))
            raise errors.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method == "PUT":
            self._verb(rt, "update")
            opts = self._write_options(request, "UpdateOptions")
            body = self._body(request)
            if route.subresource == "scale":
                scale = body if isinstance(body, dict) else {}
                result = self.api.update_scale(rt, ns, route.name, (scale.get("spec") or {}).get("replicas"), opts,
                                               (scale.get("metadata") or {}).get("resourceVersion"))
            else:
                result = self.api.update(rt, ns, route.name, body, opts, route.subresource)
            return self._json(200, result, self._warnings(opts))
        if method == "PATCH":
            self._verb(rt, "patch")
            return self._patch(request, route, rt)
        if method == "DELETE":
            self._verb(rt, "delete")
            if route.subresource:
                raise errors.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            opts = self._delete_options(request)
            return self._json(200, self.api.delete(rt, ns, route.name, opts))
        raise errors.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _pod_log(self, request: Request, namespace: str, name: str) -> Response:
        """pods/log: what the lab's processes wrote for the pod (kubectl logs; ``tailLines`` honoured)."""
        self.api.get(self.api.resolve("v1", "Pod"), namespace, name)
        lines = self.service.pod_log(namespace, name)
        tail = request.arg("tailLines")
        if tail and tail.isdigit():
            lines = lines[-int(tail):] if int(tail) else []
        text = "".join(line + "\n" for line in lines)
        return Response(200, text.encode("utf-8"), {"Content-Type": "text/plain"})

    def _post(self, request: Request, route: Route, rt: ResourceType, user: dict[str, Any]) -> Response:
        if route.name is not None:
            if route.subresource == "token" and rt.plural == "serviceaccounts":
                opts = self._write_options(request, "CreateOptions")
                result = tokens.token_request(self.api, route.namespace or "", route.name, self._body(request), opts)
                return self._json(201, result)
            raise errors.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self._verb(rt, "create")
        opts = self._write_options(request, "CreateOptions")
        body = self._body(request)
        if rt.group == "authentication.k8s.io":
            return self._json(201, self._review(rt, body, user))
        if rt.group == "authorization.k8s.io":
            return self._json(201, authz.self_subject_access_review(self.api.store, body, user))
        result = self.api.create(rt, route.namespace, body, opts)
        return self._json(201, result, self._warnings(opts))

    def _review(self, rt: ResourceType, body: Any, user: dict[str, Any]) -> dict[str, Any]:
        if rt.kind == "SelfSubjectReview":
            info = {k: v for k, v in user.items() if k in ("username", "uid", "groups")}
            return {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                    "metadata": {"creationTimestamp": None}, "status": {"userInfo": info}}
        spec = (body or {}).get("spec") or {}
        token = spec.get("token") or ""
        found = ADMIN if token == ids.KUBE_ADMIN_TOKEN else tokens.authenticate(self.api, token)
        status: dict[str, Any] = {"user": {}}
        if found:
            status = {"authenticated": True,
                      "user": {k: v for k, v in found.items() if k in ("username", "uid", "groups")},
                      "audiences": spec.get("audiences") or found.get("audiences") or [tokens.API_AUDIENCE]}
        else:
            status["error"] = "[invalid bearer token, service account token has been invalidated]"
        return {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}

    def _patch(self, request: Request, route: Route, rt: ResourceType) -> Response:
        patch_type = request.content_type
        accepted = BUILTIN_PATCH_TYPES if rt.builtin else CUSTOM_PATCH_TYPES
        if patch_type not in BUILTIN_PATCH_TYPES:
            raise errors.unsupported_media_type(accepted)
        opts = self._write_options(request, "PatchOptions", patch_type)
        if patch_type == PATCH_APPLY:
            try:
                body = yaml.safe_load(request.body.decode("utf-8")) if request.body else None
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise errors.bad_request(f"error decoding YAML: {exc}") from exc
        else:
            body = self._parse_json(request.body)
        if route.subresource == "scale":
            current = self.api.scale(rt, route.namespace, route.name or "")
            try:
                if patch_type == PATCH_JSON:
                    patched = json_patch(current, body)
                elif patch_type == PATCH_STRATEGIC:
                    patched = strategic_merge(current, body, "Scale")
                else:
                    patched = merge_patch(current, body)
            except PatchError as exc:
                raise errors.bad_request(str(exc)) from exc
            result = self.api.update_scale(rt, route.namespace, route.name or "", (patched.get("spec") or {}).get("replicas"),
                                           opts)
            return self._json(200, result)
        result, created = self.api.patch(rt, route.namespace, route.name or "", patch_type, body, opts, route.subresource)
        return self._json(201 if created else 200, result, self._warnings(opts))

    # -- options and bodies ------------------------------------------------------------------

    def _write_options(self, request: Request, kind: str, patch_type: str = "") -> Options:
        problems: list[errors.FieldError] = []
        dry_run_values = request.query.get("dryRun") or []
        for value in dry_run_values:
            if value != "All":
                problems.append(errors.not_supported("dryRun", value, ["All"]))
        validation = request.arg("fieldValidation") or ""
        if validation not in ("", "Ignore", "Warn", "Strict"):
            problems.append(errors.not_supported("fieldValidation", validation, ["Ignore", "Warn", "Strict"]))
        manager = request.arg("fieldManager") or ""
        force = request.arg("force")
        if kind == "PatchOptions":
            if patch_type != PATCH_APPLY and force is not None:
                problems.append(errors.forbidden_field("force", "may not be specified for non-apply patch"))
            if patch_type == PATCH_APPLY and not manager:
                problems.append(errors.required("fieldManager", "is required for apply patch"))
        if len(manager) > 128:
            problems.append(errors.too_long("fieldManager", manager, 128))
        if problems:
            raise errors.invalid_object(kind, "meta.k8s.io", "", problems)
        if not manager:
            # managerOrUserAgent: the User-Agent up to its first "/".
            manager = (request.headers.get("User-Agent") or "unknown").split("/")[0][:128]
        return Options(dry_run=bool(dry_run_values), manager=manager, field_validation=validation or "Warn",
                       force=None if force is None else truthy(force))

    def _delete_options(self, request: Request) -> Options:
        body: dict[str, Any] = {}
        if request.body:
            parsed = self._body(request)
            body = parsed if isinstance(parsed, dict) else {}
        dry_run_values = list(request.query.get("dryRun") or []) + list(body.get("dryRun") or [])
        problems = [errors.not_supported("dryRun", v, ["All"]) for v in dry_run_values if v != "All"]
        if problems:
            raise errors.invalid_object("DeleteOptions", "meta.k8s.io", "", problems)
        propagation = request.arg("propagationPolicy") or body.get("propagationPolicy")
        orphan = request.arg("orphanDependents")
        if propagation is None and (orphan is not None or body.get("orphanDependents") is not None):
            propagation = "Orphan" if truthy(orphan) or body.get("orphanDependents") is True else "Background"
        return Options(dry_run=bool(dry_run_values), propagation=propagation,
                       preconditions=body.get("preconditions") or {})

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        if not raw:
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc

    def _body(self, request: Request) -> Any:
        content_type = request.content_type
        if content_type in ("", JSON, "*/*"):
            return self._parse_json(request.body)
        if content_type == "application/yaml":
            try:
                return yaml.safe_load(request.body.decode("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise errors.bad_request(f"error decoding YAML: {exc}") from exc
        if content_type == protobuf.CONTENT_TYPE:
            try:
                return protobuf.decode(request.body)
            except KeyError as exc:
                raise errors.unsupported_media_type([JSON, "application/yaml"]) from exc
            except (protobuf.ProtobufError, UnicodeDecodeError) as exc:
                raise errors.bad_request(str(exc)) from exc
        raise errors.unsupported_media_type(ACCEPTED_BODIES)

    @staticmethod
    def _warnings(opts: Options) -> dict[str, str]:
        if not opts.warnings:
            return {}
        return {"Warning": ", ".join(f'299 - {json.dumps(w)}' for w in opts.warnings)}
