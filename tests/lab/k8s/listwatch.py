"""List and watch for the emulated apiserver: selectors, paging, server-side tables, watch streams.

Paging with ``limit`` / ``continue`` (an opaque token holding the last key) and
``remainingItemCount`` only without selectors; watch with ``resourceVersion`` (410 Gone once
compacted), ``sendInitialEvents`` with its validation and the initial-events-end bookmark, periodic
bookmarks, and the ADDED / MODIFIED / DELETED translation when an object enters or leaves a
selector (k8s.io/apiserver/pkg/endpoints/handlers/get.go, watch.go; storage/cacher).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import TYPE_CHECKING, Any

from ..core import Request, Response, StreamWriter
from . import errors, tables
from .api import order
from .resources import ResourceType
from .responses import TABLE, headers, json_response, truthy
from .selectors import Selector

if TYPE_CHECKING:
    from .api import Api

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
BOOKMARK_INTERVAL = 30.0


class ListWatch:
    def __init__(self, api: Api) -> None:
        self.api = api

    def list_objects(self, request: Request, rt: ResourceType, namespace: str | None) -> Response:
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
            response = self.table(request, rt, items, metadata["resourceVersion"])
            if "continue" in metadata:
                body = json.loads(response.body)
                body["metadata"]["continue"] = metadata["continue"]
                response.body = json.dumps(body).encode()
            return response
        body = {"kind": rt.list_kind_name, "apiVersion": rt.api_version, "metadata": metadata, "items": items}
        return json_response(200, body)

    def table(self, request: Request, rt: ResourceType, items: list[dict[str, Any]], rv: str) -> Response:
        include = request.arg("includeObject") or "Metadata"
        return json_response(200, tables.table(rt, items, rv, include), {"Content-Type": TABLE})

    def watch(self, request: Request, stream: StreamWriter, rt: ResourceType, namespace: str | None,
              name: str | None) -> Response | None:
        field_selector = request.arg("fieldSelector")
        if name is not None:
            field_selector = f"metadata.name={name}" + (f",{field_selector}" if field_selector else "")
        selector = Selector(request.arg("labelSelector"), field_selector, rt.group, rt.kind)
        send_initial = request.arg("sendInitialEvents")
        bookmarks = truthy(request.arg("allowWatchBookmarks"))
        rv_param = request.arg("resourceVersion") or ""
        problems = []
        if send_initial is not None and request.arg("resourceVersionMatch") != "NotOlderThan":
            problems.append(errors.forbidden_field("resourceVersionMatch",
                                                   "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
        if truthy(send_initial) and not bookmarks:
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
            if truthy(send_initial) or (send_initial is None and rv_param in ("", "0")):
                initial = self.api.list(rt, namespace, selector)[0]
                last = current
            else:
                try:
                    last = int(rv_param) if rv_param else current
                except ValueError as exc:
                    raise errors.bad_request(f"invalid resource version: {rv_param}") from exc
                if last < store.compacted_rv:
                    stream.start(200, headers())
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

        stream.start(200, headers())
        try:
            for obj in initial:
                send("ADDED", obj)
            if truthy(send_initial):
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
