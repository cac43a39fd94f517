"""``kubectl auth can-i`` and ``kubectl auth whoami``: SelfSubjectAccessReview and SelfSubjectReview.

SelfSubjectAccessReview (authorization.k8s.io/v1, pkg/registry/authorization/selfsubjectaccessreview):
the requesting user's attributes go through the authorizer chain and the status says
``allowed`` with the deciding authorizer's ``reason``. The chain, as kube-apiserver builds it
(pkg/kubeapiserver/authorizer/config.go):
- the ``system:masters`` group is allowed everything, with no reason
  (authorizerfactory.NewPrivilegedGroups);
- RBAC (plugin/pkg/auth/authorizer/rbac/rbac.go): ClusterRoleBindings, then the RoleBindings of the
  request's namespace, whose subjects name the user, one of its groups or its service account
  (``system:serviceaccount:<ns>:<name>``); a rule matches on verbs, apiGroups, resources
  (``*``, ``resource/subresource``, ``*/subresource``), resourceNames, or nonResourceURLs (a
  trailing ``*`` is a prefix). Allowed reasons read ``RBAC: allowed by ClusterRoleBinding "<b>" of
  ClusterRole "<r>" to User "<u>"`` (rbac.go ``authorizingVisitor``, ``describeSubject``); a denial
  has no reason.
A spec with neither or both of resourceAttributes and nonResourceAttributes is refused as
pkg/apis/authorization/validation does.

Protobuf bodies (kubectl's typed clients send them): field numbers of
k8s.io/api/authorization/v1/generated.proto and authentication/v1/generated.proto.
"""

from __future__ import annotations

from typing import Any, Callable

from . import errors
from .protobuf import fields, object_meta, strings, with_spec

RBAC = "rbac.authorization.k8s.io"


def _pb_access_review_spec(spec: dict[str, Any], number: int, value: Any) -> None:
    if number == 1:
        spec["resourceAttributes"] = strings(value, {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource",
                                                     6: "subresource", 7: "name"})
    elif number == 2:
        spec["nonResourceAttributes"] = strings(value, {1: "path", 2: "verb"})


def _pb_self_subject_review(data: bytes) -> dict[str, Any]:
    # authentication/v1 SelfSubjectReview: metadata=1, status=2 (set by the server).
    return {"metadata": object_meta(next((v for n, v in fields(data) if n == 1), b""))}


DECODERS: dict[tuple[str, str], Callable[[bytes], dict[str, Any]]] = {
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): lambda data: with_spec(data, _pb_access_review_spec),
    ("authentication.k8s.io/v1", "SelfSubjectReview"): _pb_self_subject_review,
}


def _matches(values: list[str] | None, value: str) -> bool:
    return any(v in ("*", value) for v in values or [])


def _rule_allows(rule: dict[str, Any], attrs: dict[str, Any], non_resource: bool) -> bool:
    if not _matches(rule.get("verbs"), attrs.get("verb", "")):
        return False
    if non_resource:
        path = attrs.get("path", "")
        return any(u == path or u == "*" or (u.endswith("*") and path.startswith(u[:-1]))
                   for u in rule.get("nonResourceURLs") or [])
    if rule.get("nonResourceURLs") and not rule.get("resources"):
        return False
    if not _matches(rule.get("apiGroups"), attrs.get("group", "")):
        return False
    resource, subresource = attrs.get("resource", ""), attrs.get("subresource", "")
    combined = f"{resource}/{subresource}" if subresource else resource
    if not any(r in ("*", combined) or (subresource and r == f"*/{subresource}") for r in rule.get("resources") or []):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.get("name", "") in names


def _subject(subject: dict[str, Any], user: dict[str, Any], binding_namespace: str) -> str | None:
    """How RBAC names a matching subject, or None."""
    kind, name = subject.get("kind"), subject.get("name", "")
    username = user.get("username", "")
    if kind == "User" and name == username:
        return f'User "{name}"'
    if kind == "Group" and name in (user.get("groups") or []):
        return f'Group "{name}"'
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        if username == f"system:serviceaccount:{namespace}:{name}":
            return f'ServiceAccount "{name}/{namespace}"'
    return None


def decide(store: Any, user: dict[str, Any], attrs: dict[str, Any], non_resource: bool) -> tuple[bool, str]:
    """(allowed, reason) for ``user`` and the request attributes, as the authorizer chain decides."""
    if "system:masters" in (user.get("groups") or []):
        return True, ""
    namespace = "" if non_resource else attrs.get("namespace", "")
    bindings = [("ClusterRoleBinding", b) for b in store.items((RBAC, "clusterrolebindings"))]
    if namespace:
        bindings += [("RoleBinding", b) for b in store.items((RBAC, "rolebindings"))
                     if b["metadata"].get("namespace") == namespace]
    for binding_kind, binding in bindings:
        binding_ns = binding["metadata"].get("namespace", "")
        subject = next((s for s in (_subject(x, user, binding_ns) for x in binding.get("subjects") or []) if s), None)
        if subject is None:
            continue
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole":
            role = store.get((RBAC, "clusterroles"), "", ref.get("name", ""))
        else:
            role = store.get((RBAC, "roles"), binding_ns, ref.get("name", ""))
        if role is None:
            continue
        if any(_rule_allows(rule, attrs, non_resource) for rule in role.get("rules") or []):
            name = f"{binding_ns}/{binding['metadata']['name']}" if binding_ns else binding["metadata"]["name"]
            return True, (f'RBAC: allowed by {binding_kind} "{name}" of {ref.get("kind")} "{ref.get("name")}" '
                          f"to {subject}")
    return False, ""


def self_subject_access_review(store: Any, body: Any, user: dict[str, Any]) -> dict[str, Any]:
    spec = (body or {}).get("spec") or {}
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    # pkg/apis/authorization/validation ValidateSelfSubjectAccessReviewSpec.
    if resource and non_resource:
        raise errors.invalid_object("SelfSubjectAccessReview", "authorization.k8s.io", "", [errors.invalid(
            "spec.nonResourceAttributes", non_resource, "cannot be specified in combination with resourceAttributes")])
    if not resource and not non_resource:
        raise errors.invalid_object("SelfSubjectAccessReview", "authorization.k8s.io", "", [errors.invalid(
            "spec.resourceAttributes", None, "exactly one of nonResourceAttributes or resourceAttributes must be specified")])
    allowed, reason = decide(store, user, resource or non_resource or {}, bool(non_resource))
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}
