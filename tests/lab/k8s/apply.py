"""Server-side apply and field ownership, a simplified structured-merge-diff.

Ownership is tracked per object and per (manager, operation) as a set of field paths, like the
``fieldsV1`` sets in ``metadata.managedFields``:

- a path is a tuple of elements ``("f", name)`` (map field), ``("k", '{"name":"x"}')`` (item of a
  keyed list, keyed as in ``patch.list_merge_key``) or ``("v", json)`` (member of a set list);
  scalars, atomic lists and empty maps are leaves;
- Update operations (create, PUT, merge/JSON/strategic patches) give the writer every path whose
  value it changed and take those paths from every other manager;
- an Apply by manager M conflicts when it would change the value of a path another manager owns
  (409 with the real message and ``FieldManagerConflict`` causes) unless ``force=true``, which
  moves the paths to M; paths M applied before but omits now are removed from the object unless
  another manager still owns them.

``metadata.managedFields`` is rendered from these sets by ``managedfields.py``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .errors import ApiError
from .patch import SET, list_merge_key
from .store import now_rfc3339

Path = tuple[tuple[str, str], ...]

# metadata fields that are user intent (the rest is set by the server).
_TRACKED_METADATA = ("labels", "annotations", "finalizers", "ownerReferences")


def _trackable(obj: dict[str, Any], has_status: bool) -> dict[str, Any]:
    view = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    if has_status:
        view.pop("status", None)
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k in _TRACKED_METADATA}
    if meta:
        view["metadata"] = meta
    return view


def field_paths(obj: dict[str, Any], kind: str, has_status: bool) -> set[Path]:
    paths: set[Path] = set()
    _walk(_trackable(obj, has_status), (), (), kind, paths)
    return paths


def _item_key(key: str, item: dict[str, Any]) -> str:
    return json.dumps({key: item.get(key)}, separators=(",", ":"))


def _walk(value: Any, path: Path, names: tuple[str, ...], kind: str, out: set[Path]) -> None:
    if isinstance(value, dict):
        if not value and path:
            out.add(path)
        for key, sub in value.items():
            _walk(sub, path + (("f", key),), names + (key,), kind, out)
        return
    if isinstance(value, list):
        merge_key = list_merge_key(kind, names)
        if merge_key == SET:
            for item in value:
                out.add(path + (("v", json.dumps(item, sort_keys=True)),))
            return
        if merge_key and all(isinstance(i, dict) and merge_key in i for i in value):
            for item in value:
                item_path = path + (("k", _item_key(merge_key, item)),)
                out.add(item_path)
                for key, sub in item.items():
                    _walk(sub, item_path + (("f", key),), names + (key,), kind, out)
            return
    out.add(path)


def _lookup(obj: Any, path: Path, kind: str) -> tuple[bool, Any]:
    """(present, value) of ``path`` in obj (a trackable view)."""
    current = obj
    names: tuple[str, ...] = ()
    for element, token in path:
        if element == "f":
            if not isinstance(current, dict) or token not in current:
                return False, None
            current = current[token]
            names = names + (token,)
        elif element == "k":
            if not isinstance(current, list):
                return False, None
            key = list_merge_key(kind, names)
            wanted = json.loads(token)
            found = next((i for i in current if isinstance(i, dict) and key in wanted
                          and i.get(key) == wanted[key]), None)
            if found is None:
                return False, None
            current = found
        elif element == "v":
            if not isinstance(current, list) or json.loads(token) not in current:
                return False, None
            return True, json.loads(token)
    return True, current


def _remove(obj: dict[str, Any], path: Path, kind: str) -> None:
    parents: list[tuple[Any, tuple[str, str], tuple[str, ...]]] = []
    current: Any = obj
    names: tuple[str, ...] = ()
    for element, token in path[:-1]:
        parents.append((current, (element, token), names))
        if element == "f":
            if not isinstance(current, dict) or token not in current:
                return
            current = current[token]
            names = names + (token,)
        else:
            key = list_merge_key(kind, names)
            wanted = json.loads(token)
            current = next((i for i in current if isinstance(i, dict) and i.get(key) == wanted.get(key)), None)
            if current is None:
                return
    element, token = path[-1]
    if element == "f" and isinstance(current, dict):
        current.pop(token, None)
    elif element == "k" and isinstance(current, list):
        key = list_merge_key(kind, names)
        wanted = json.loads(token)
        current[:] = [i for i in current if not (isinstance(i, dict) and i.get(key) == wanted.get(key))]
    elif element == "v" and isinstance(current, list):
        value = json.loads(token)
        current[:] = [i for i in current if i != value]
    # Drop maps the removal emptied (but never the object's top-level sections).
    while parents and len(parents) > 1:
        parent, (element, token), _names = parents.pop()
        if element == "f" and isinstance(parent, dict) and parent.get(token) in ({}, []):
            parent.pop(token, None)
        else:
            break


def apply_merge(live: Any, config: Any, kind: str, names: tuple[str, ...] = ()) -> Any:
    """Merge an apply configuration into the live object (maps merge, keyed lists merge by key)."""
    if isinstance(config, dict) and isinstance(live, dict):
        result = copy.deepcopy(live)
        for key, value in config.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = apply_merge(live.get(key), value, kind, names + (key,))
        return result
    if isinstance(config, list) and isinstance(live, list):
        merge_key = list_merge_key(kind, names)
        if merge_key == SET:
            return list(config) + [v for v in live if v not in config]
        if merge_key and all(isinstance(i, dict) and merge_key in i for i in config + live):
            merged = copy.deepcopy(live)
            for item in config:
                position = next((i for i, existing in enumerate(merged) if existing.get(merge_key) == item[merge_key]), None)
                if position is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[position] = apply_merge(merged[position], item, kind, names)
            return merged
    return copy.deepcopy(config)


def _render_path(path: Path) -> str:
    # fieldpath.Path.String(): .field, [key="value"], [=value]
    parts = []
    for element, token in path:
        if element == "f":
            parts.append("." + token)
        elif element == "k":
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(token).items()) + "]")
        else:
            parts.append(f"[={token}]")
    return "".join(parts)


class Manager:
    __slots__ = ("api_version", "fields", "name", "operation", "time")

    def __init__(self, name: str, operation: str, api_version: str):
        self.name = name
        self.operation = operation
        self.api_version = api_version
        self.time = now_rfc3339()
        self.fields: set[Path] = set()

    def describe(self) -> str:
        # printManager in k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager/internal/conflict.go
        if self.operation == "Update":
            return f"{json.dumps(self.name)} using {self.api_version} at {self.time}"
        return json.dumps(self.name)


ObjectId = tuple[str, str, str, str]


class Ownership:
    """Field managers of every object, keyed by (group, plural, namespace, name)."""

    def __init__(self) -> None:
        self._managers: dict[ObjectId, dict[tuple[str, str], Manager]] = {}

    def clear(self) -> None:
        self._managers.clear()

    def forget(self, oid: ObjectId) -> None:
        self._managers.pop(oid, None)

    def managers(self, oid: ObjectId) -> dict[tuple[str, str], Manager]:
        return self._managers.setdefault(oid, {})

    def known(self, oid: ObjectId) -> dict[tuple[str, str], Manager] | None:
        """The managers of ``oid`` without creating an entry (for rendering)."""
        return self._managers.get(oid)

    def record_update(self, oid: ObjectId, manager: str, api_version: str, old: dict[str, Any] | None,
                      new: dict[str, Any], kind: str, has_status: bool) -> None:
        new_view = _trackable(new, has_status)
        new_paths = field_paths(new, kind, has_status)
        if old is None:
            changed = new_paths
        else:
            old_view = _trackable(old, has_status)
            old_paths = field_paths(old, kind, has_status)
            changed = {p for p in new_paths | old_paths if _lookup(old_view, p, kind) != _lookup(new_view, p, kind)}
        if not changed:
            return
        managers = self.managers(oid)
        for entry in managers.values():
            entry.fields -= changed
        updater = managers.get((manager, "Update"))
        if updater is None:
            updater = managers[(manager, "Update")] = Manager(manager, "Update", api_version)
        updater.fields |= {p for p in changed if p in new_paths}
        updater.time = now_rfc3339()
        updater.api_version = api_version
        for key in [k for k, m in managers.items() if not m.fields]:
            del managers[key]

    def apply(self, oid: ObjectId, manager: str, api_version: str, live: dict[str, Any], config: dict[str, Any],
              kind: str, has_status: bool, force: bool) -> dict[str, Any]:
        """Merge ``config`` into ``live`` as ``manager``'s apply; returns the new object.

        Raises the 409 apply conflict unless ``force``.
        """
        managers = self.managers(oid)
        applied = field_paths(config, kind, has_status)
        config_view = _trackable(config, has_status)
        live_view = _trackable(live, has_status)
        conflicts: list[tuple[Manager, Path]] = []
        for entry in managers.values():
            if entry.name == manager and entry.operation == "Apply":
                continue
            for path in sorted(entry.fields & applied):
                present, value = _lookup(live_view, path, kind)
                if present and value != _lookup(config_view, path, kind)[1]:
                    conflicts.append((entry, path))
        if conflicts and not force:
            raise _conflict_error(conflicts)
        if force:
            for entry, path in conflicts:
                entry.fields.discard(path)
        result: dict[str, Any] = apply_merge(live, config, kind)
        mine = managers.get((manager, "Apply"))
        previous = mine.fields if mine else set()
        others = set()
        for key, entry in managers.items():
            if key != (manager, "Apply"):
                others |= entry.fields
        for path in sorted(previous - applied - others, key=len, reverse=True):
            _remove(result, path, kind)
        if mine is None:
            mine = managers[(manager, "Apply")] = Manager(manager, "Apply", api_version)
        mine.fields = applied
        mine.time = now_rfc3339()
        mine.api_version = api_version
        for key in [k for k, m in managers.items() if not m.fields]:
            del managers[key]
        return result

    def rename(self, old: ObjectId, new: ObjectId) -> None:
        if old in self._managers:
            self._managers[new] = self._managers.pop(old)


def _conflict_error(conflicts: list[tuple[Manager, Path]]) -> ApiError:
    # internal.NewConflictError in k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager.
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {m.describe()}", "field": _render_path(p)}
              for m, p in conflicts]
    if len(conflicts) == 1:
        manager, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {manager.describe()}: {_render_path(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for manager, path in conflicts:
            by_manager.setdefault(manager.describe(), []).append(_render_path(path))
        lines = []
        for described in sorted(by_manager):
            lines.append(f"conflicts with {described}:")
            lines.extend(f"- {p}" for p in by_manager[described])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})
