"""HTTP routing for the emulated apiserver: paths, verbs, query parameters, bodies, list and watch.

Path layout (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go):
``/api/v1[/watch][/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]`` and the same under
``/apis/{group}/{version}``. An unknown group or version is a bare ``404 page not found`` (no
route), an unknown resource inside a served group version is a ``NotFound`` Status with empty
details: clients tell "CRD not installed" from "object missing" by exactly that difference.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import yaml

from .. import ids
from ..core import Request, Response, StreamWriter
from . import authz, discovery, errors, openapi, protobuf, protobuf_kinds, tables
from .api import BUILTIN_PATCH_TYPES, CUSTOM_PATCH_TYPES, PATCH_APPLY, PATCH_JSON, PATCH_STRATEGIC, Options, order
from .patch import PatchError, json_patch, merge_patch, strategic_merge
from .resources import ResourceType
from .selectors import Selector

if TYPE_CHECKING:
    from .service import KubernetesService

JSON = "application/json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
ACCEPTED_BODIES = [JSON, "application/yaml", protobuf.CONTENT_TYPE]
ADMIN = {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
# Protobuf request bodies of the kinds served from their own files.
protobuf.DECODERS.update(authz.DECODERS)
protobuf.DECODERS.update(protobuf_kinds.DECODERS)
BOOKMARK_INTERVAL = 30.0


class PageNotFound(Exception):
    """No route at all: the mux's plain-text 404."""


def _text_404() -> Response:
    return Response(404, b"404 page not found\n", {"Content-Type": "text/plain; charset=utf-8",
                                                   "X-Content-Type-Options": "nosniff"})


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"Content-Type": JSON, "Cache-Control": "no-cache, private", "Audit-Id": str(uuid.uuid4())}
    headers.update(extra or {})
    return headers


def status_response(error: errors.ApiError) -> Response:
    return Response(error.code, json.dumps(error.status).encode(), _headers())


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


class Route:
    __slots__ = ("group", "version", "namespace", "resource", "name", "subresource", "watch")

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
            return _text_404()
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
        return self.api.authenticate(token)

    def _json(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(code, json.dumps(payload).encode(), _headers(headers))

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
        if route.watch or (method == "GET" and route.name is None and _truthy(request.arg("watch"))):
            self._verb(rt, "watch")
            return self._watch(request, stream, rt, ns, route.name)
        if method in ("GET", "HEAD"):
            if route.name is None:
                self._verb(rt, "list")
                return self._list(request, rt, ns)
            self._verb(rt, "get")
            if route.subresource == "scale":
                return self._json(200, self.api.scale(rt, ns, route.name))
            if route.subresource == "log":
                return self._pod_log(request, ns or "", route.name)
            if route.subresource in ("", "status"):
                obj = self.api.get(rt, ns, route.name)
                if not route.subresource and tables.wants_table(request.headers.get("Accept") or ""):
                    return self._table(request, rt, [obj], obj["metadata"].get("resourceVersion", ""))
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
        self.api.get(self.api.registry.by_kind("v1", "Pod"), namespace, name)
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
                result = self.api.token_request(route.namespace or "", route.name, self._body(request), opts)
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
        found = ADMIN if token == ids.KUBE_ADMIN_TOKEN else self.api.authenticate(token)
        status: dict[str, Any] = {"user": {}}
        if found:
            status = {"authenticated": True,
                      "user": {k: v for k, v in found.items() if k in ("username", "uid", "groups")},
                      "audiences": spec.get("audiences") or found.get("audiences") or [self.api.api_audience]}
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
                       force=None if force is None else _truthy(force))

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
            propagation = "Orphan" if _truthy(orphan) or body.get("orphanDependents") is True else "Background"
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

    # -- list and watch ----------------------------------------------------------------------

    def _list(self, request: Request, rt: ResourceType, namespace: str | None) -> Response:
        selector = Selector(request.arg("labelSelector"), request.arg("fieldSelector"), rt.group, rt.kind)
        items, rv = self.api.list(rt, namespace, selector)
        start = ""
        token = request.arg("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
                start = state["start"]
            except (ValueError, KeyError, binascii.Error) as exc:
                raise errors.bad_request(f"continue key is not valid: {exc}") from exc
            items = [i for i in items if _list_key(i) > start]
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        limit = int(request.arg("limit") or 0)
        if limit > 0 and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
            state = {"v": "meta.k8s.io/v1", "rv": rv, "start": _list_key(items[-1])}
            metadata["continue"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
            if selector.empty:
                metadata["remainingItemCount"] = remaining
        if tables.wants_table(request.headers.get("Accept") or ""):
            response = self._table(request, rt, items, metadata["resourceVersion"])
            if "continue" in metadata:
                body = json.loads(response.body)
                body["metadata"]["continue"] = metadata["continue"]
                response.body = json.dumps(body).encode()
            return response
        body = {"kind": rt.list_kind_name, "apiVersion": rt.api_version, "metadata": metadata, "items": items}
        return self._json(200, body)

    def _table(self, request: Request, rt: ResourceType, items: list[dict[str, Any]], rv: str) -> Response:
        include = request.arg("includeObject") or "Metadata"
        return self._json(200, tables.table(rt, items, rv, include), {"Content-Type": TABLE})

    def _watch(self, request: Request, stream: StreamWriter, rt: ResourceType, namespace: str | None,
               name: str | None) -> Response | None:
        field_selector = request.arg("fieldSelector")
        if name is not None:
            field_selector = f"metadata.name={name}" + (f",{field_selector}" if field_selector else "")
        selector = Selector(request.arg("labelSelector"), field_selector, rt.group, rt.kind)
        send_initial = request.arg("sendInitialEvents")
        bookmarks = _truthy(request.arg("allowWatchBookmarks"))
        rv_param = request.arg("resourceVersion") or ""
        problems = []
        if send_initial is not None and request.arg("resourceVersionMatch") != "NotOlderThan":
            problems.append(errors.forbidden_field("resourceVersionMatch",
                                                   "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
        if _truthy(send_initial) and not bookmarks:
            problems.append(errors.forbidden_field("allowWatchBookmarks",
                                                   "sendInitialEvents requires setting allowWatchBookmarks to true"))
        if problems:
            raise errors.invalid_object("ListOptions", "meta.k8s.io", "", problems)
        timeout = float(request.arg("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        store = self.api.store
        gr = rt.group_resource
        initial: list[dict[str, Any]] = []
        with store.lock:
            current = store.resource_version
            if _truthy(send_initial) or (send_initial is None and rv_param in ("", "0")):
                initial = self.api.list(rt, namespace, selector)[0]
                last = current
            else:
                try:
                    last = int(rv_param) if rv_param else current
                except ValueError as exc:
                    raise errors.bad_request(f"invalid resource version: {rv_param}") from exc
                if last < store.compacted_rv:
                    stream.start(200, _headers())
                    self._send(stream, "ERROR", errors.gone(f"too old resource version: {last} ({store.compacted_rv + 1})").status)
                    stream.end()
                    return None
        as_table = tables.wants_table(request.headers.get("Accept") or "")
        include = request.arg("includeObject") or "Metadata"

        def send(event_type: str, obj: dict[str, Any]) -> None:
            if as_table:
                # Watch events carry one-row Tables when the client asked for server-side printing.
                obj = tables.table(rt, [obj], obj["metadata"].get("resourceVersion", ""), include)
            self._send(stream, event_type, obj)

        stream.start(200, _headers())
        try:
            for obj in initial:
                send("ADDED", obj)
            if _truthy(send_initial):
                self._bookmark(stream, rt, current, initial_end=True)
            last_bookmark = time.monotonic()
            while not stream.closed and time.monotonic() < deadline:
                with store.changed:
                    events = store.events_after(last, gr)
                    if not events:
                        store.changed.wait(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
                        events = store.events_after(last, gr)
                for event in events:
                    last = event.rv
                    translated = self._translate(event, rt, namespace, selector)
                    if translated is not None:
                        send(*translated)
                if stream.peer_closed:
                    return None
                if bookmarks and time.monotonic() - last_bookmark > BOOKMARK_INTERVAL:
                    self._bookmark(stream, rt, store.resource_version)
                    last_bookmark = time.monotonic()
            stream.end()
        except OSError:
            # The client went away mid-stream: nothing left to answer.
            return None
        return None

    def _translate(self, event: Any, rt: ResourceType, namespace: str | None,
                   selector: Selector) -> tuple[str, dict[str, Any]] | None:
        def visible(obj: dict[str, Any] | None) -> bool:
            if obj is None:
                return False
            if namespace is not None and obj["metadata"].get("namespace") != namespace:
                return False
            return selector.matches(self.api.present(rt, obj))

        now, before = visible(event.obj), visible(event.old)
        obj = self.api.present(rt, event.obj)
        if event.type == "ADDED":
            return ("ADDED", obj) if now else None
        if event.type == "DELETED":
            return ("DELETED", obj) if before else None
        if now and before:
            return ("MODIFIED", obj)
        if now:
            return ("ADDED", obj)
        if before:
            return ("DELETED", obj)
        return None

    @staticmethod
    def _send(stream: StreamWriter, event_type: str, obj: dict[str, Any]) -> None:
        stream.write(json.dumps({"type": event_type, "object": order(obj)}).encode() + b"\n")

    def _bookmark(self, stream: StreamWriter, rt: ResourceType, rv: int, initial_end: bool = False) -> None:
        metadata: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
        self._send(stream, "BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": metadata})


def _list_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
