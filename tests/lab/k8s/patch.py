"""The three classic patch formats: JSON merge patch, JSON patch and strategic merge patch.

- ``application/merge-patch+json``: RFC 7386 (null deletes, objects merge, everything else replaces).
- ``application/json-patch+json``: RFC 6902 (add, remove, replace, move, copy, test).
- ``application/strategic-merge-patch+json``: Kubernetes' strategic merge patch for built-in types
  (k8s.io/apimachinery/pkg/util/strategicpatch). Covered here:
    * lists merged by their ``patchMergeKey`` (see ``list_merge_key``): containers, initContainers,
      ephemeralContainers, env, volumes, imagePullSecrets, secrets, resourceClaims by ``name``;
      volumeMounts by ``mountPath``; volumeDevices by ``devicePath``; container ports by
      ``containerPort``; Service ports by ``port``; hostAliases by ``ip``; ownerReferences by
      ``uid``; conditions by ``type``; topologySpreadConstraints by ``topologyKey``;
    * ``metadata.finalizers`` merged as a set (``patchStrategy:"merge"`` on a primitive list);
    * every other list is atomic (replaced), as in the Go structs without a patch strategy;
    * directives ``$patch: replace|delete|merge`` (in maps and in list items),
      ``$retainKeys``, ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>``.
  Not covered: ``$patch: replace`` as a lone list item mixed with other directives in the same
  list beyond "replace the whole list with the remaining items".
"""

from __future__ import annotations

import copy
import json
from typing import Any

# A list is merged as a set of primitives (patchStrategy "merge" without a key).
SET = "<set>"

_NAME_KEYED = {"containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets",
               "resourceClaims"}
_CONTAINER_LISTS = {"containers", "initContainers", "ephemeralContainers"}


class PatchError(Exception):
    """A patch that cannot be applied: ``bad_request`` for malformed, else unprocessable (422)."""

    def __init__(self, message: str, bad_request: bool = False):
        super().__init__(message)
        self.bad_request = bad_request


def list_merge_key(kind: str, path: tuple[str, ...]) -> str | None:
    """The strategic-merge key for the list at ``path`` (map keys from the object root), or None.

    Returns ``SET`` for primitive lists merged as sets, None for atomic lists.
    """
    if not path:
        return None
    field = path[-1]
    parent = path[-2] if len(path) > 1 else ""
    if path == ("metadata", "finalizers"):
        return SET
    if path == ("metadata", "ownerReferences"):
        return "uid"
    if field in _NAME_KEYED:
        return "name"
    if field == "volumeMounts":
        return "mountPath"
    if field == "volumeDevices":
        return "devicePath"
    if field == "ports":
        if parent in _CONTAINER_LISTS:
            return "containerPort"
        if kind == "Service" and path == ("spec", "ports"):
            return "port"
        return None
    if field == "hostAliases":
        return "ip"
    if field == "conditions" and "status" in path:
        return "type"
    if field == "topologySpreadConstraints":
        return "topologyKey"
    if field == "secrets" and kind == "ServiceAccount":
        return "name"
    return None


# RFC 7386 ---------------------------------------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# RFC 6902 ---------------------------------------------------------------------------------------

def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise PatchError("invalid JSON patch path", bad_request=True)
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if index > limit:
        raise PatchError(f"array index {index} out of bounds")
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, dict):
            if token not in current:
                raise PatchError(f"doc is missing path: {'/' + '/'.join(tokens)}")
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, False)]
        else:
            raise PatchError(f"doc is missing path: {'/' + '/'.join(tokens)}")
    return current


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"doc is missing key: {'/' + '/'.join(tokens)}")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, False)]
    raise PatchError(f"doc is missing path: {'/' + '/'.join(tokens)}")


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return copy.deepcopy(value)
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, True), copy.deepcopy(value))
    else:
        raise PatchError(f"add operation does not apply: doc is missing path: {'/' + '/'.join(tokens)}")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise PatchError("cannot remove the document root")
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"remove operation does not apply: doc is missing path: {'/' + '/'.join(tokens)}")
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, False)]
    else:
        raise PatchError(f"remove operation does not apply: doc is missing path: {'/' + '/'.join(tokens)}")
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch", bad_request=True)
    result = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError("Unexpected kind: missing op", bad_request=True)
        kind = op["op"]
        tokens = _pointer(op.get("path"))
        if kind == "add":
            if "value" not in op:
                raise PatchError("add operation missing value", bad_request=True)
            result = _add(result, tokens, op["value"])
        elif kind == "remove":
            result = _remove(result, tokens)
        elif kind == "replace":
            if "value" not in op:
                raise PatchError("replace operation missing value", bad_request=True)
            _get(result, tokens)
            if tokens:
                parent = _parent(result, tokens)
                if isinstance(parent, dict):
                    parent[tokens[-1]] = copy.deepcopy(op["value"])
                else:
                    parent[_index(parent, tokens[-1], False)] = copy.deepcopy(op["value"])
            else:
                result = copy.deepcopy(op["value"])
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from"))
            value = copy.deepcopy(_get(result, source))
            if kind == "move":
                result = _remove(result, source)
            result = _add(result, tokens, value)
        elif kind == "test":
            try:
                actual = _get(result, tokens)
            except PatchError as exc:
                raise PatchError(f"testing value {op.get('path')} failed: {exc}") from exc
            if actual != op.get("value"):
                raise PatchError(f"testing value {op.get('path')} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}", bad_request=True)
    return result


# Strategic merge patch ----------------------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def strategic_merge(original: Any, patch: Any, kind: str) -> Any:
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object", bad_request=True)
    return _merge_map(copy.deepcopy(original) if isinstance(original, dict) else {}, patch, kind, ())


def _merge_map(original: dict[str, Any], patch: dict[str, Any], kind: str, path: tuple[str, ...]) -> Any:
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise PatchError(f"Unknown patch type: {directive}", bad_request=True)
    result = original
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN):
            continue
        if key.startswith(_ORDER):
            orders[key[len(_ORDER):]] = value or []
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE):]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
            continue
        sub_path = path + (key,)
        current = result.get(key)
        if isinstance(value, dict):
            merged = _merge_map(current if isinstance(current, dict) else {}, value, kind, sub_path)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(current if isinstance(current, list) else [], value, kind, sub_path)
        else:
            result[key] = copy.deepcopy(value)
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(result[field], order, list_merge_key(kind, path + (field,)))
    retain = patch.get(_RETAIN)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: list[Any], patch: list[Any], kind: str, path: tuple[str, ...]) -> list[Any]:
    key = list_merge_key(kind, path)
    if key is None:
        return [copy.deepcopy(v) for v in patch]
    if key == SET:
        result = list(original)
        for value in patch:
            if isinstance(value, dict) and value.get(_DIRECTIVE) == "replace":
                return [v for v in patch if not isinstance(v, dict)]
            if value not in result:
                result.append(value)
        return result
    if any(isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" and len(item) == 1 for item in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and i.get(_DIRECTIVE) == "replace")]
    result = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"unable to find api field in struct for list item {item!r}", bad_request=True)
        if key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        position = next((i for i, existing in enumerate(result)
                         if isinstance(existing, dict) and existing.get(key) == item[key]), None)
        if item.get(_DIRECTIVE) == "delete":
            if position is not None:
                del result[position]
            continue
        if position is None:
            merged = _merge_map({}, item, kind, path)
            if merged is not None:
                result.append(merged)
        else:
            merged = _merge_map(result[position], item, kind, path)
            if merged is None:
                del result[position]
            else:
                result[position] = merged
    return result


def _apply_order(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def ident(item: Any) -> Any:
        if key and key != SET and isinstance(item, dict):
            return json.dumps(item.get(key))
        return json.dumps(item, sort_keys=True)

    wanted = [ident(o) for o in order]
    ranked = {w: i for i, w in enumerate(wanted)}
    listed = sorted((it for it in items if ident(it) in ranked), key=lambda it: ranked[ident(it)])
    rest = [it for it in items if ident(it) not in ranked]
    return listed + rest
