"""Discovery documents: /version, /api, /apis, group and group-version lists (OpenAPI: ``openapi.py``).

Only the legacy (unaggregated) discovery format is served. Clients that ask for aggregated
discovery (``application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``, as kubectl
and client-go do) also accept plain JSON, see a response without the aggregated content type and
fall back to fetching each group version, exactly as against an apiserver without it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .openapi import KUBERNETES_VERSION
from .resources import SUBRESOURCE_KINDS, Registry, ResourceType


def version(git_version: str = KUBERNETES_VERSION) -> dict[str, Any]:
    """/version of the API server; ``git_version`` is the backing cluster's (KubernetesService.kubernetes_version)."""
    minor = git_version.lstrip("v").split(".")[1] if git_version.count(".") >= 1 else "32"
    return {
        "major": "1", "minor": minor, "gitVersion": git_version,
        "gitCommit": "ada3f2a8bd8a9a3a2a9e5a04c2c46bd2e4c1f3a0", "gitTreeState": "clean",
        "buildDate": "2025-06-17T18:36:18Z", "goVersion": "go1.23.10", "compiler": "gc", "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                             "kind": rt.kind, "verbs": list(rt.verbs)}
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entry["storageVersionHash"] = hashlib.sha256(f"{rt.group}/{rt.plural}".encode()).hexdigest()[:11]
    entries = [entry]
    for sub in rt.subresources:
        group, ver, kind, verbs = SUBRESOURCE_KINDS[sub]
        sub_entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced}
        if group or ver:
            sub_entry["group"], sub_entry["version"] = group, ver
        sub_entry["kind"] = kind or rt.kind
        sub_entry["verbs"] = list(verbs)
        entries.append(sub_entry)
    return entries


def resource_list(registry: Registry, group: str, ver: str) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for rt in registry.all():
        if rt.group == group and rt.version == ver:
            resources.extend(_resource_entries(rt))
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{ver}" if group else ver,
            "resources": resources}


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    versions = registry.group_versions().get(group)
    if not versions:
        return None
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": listed, "preferredVersion": listed[0]}


def group_list(registry: Registry, aggregated: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Built-in and CRD groups, then the groups APIServices hand to extension servers (aggregation.py)."""
    groups = []
    for group in registry.group_versions():
        if group:
            entry = api_group(registry, group)
            if entry:
                entry = dict(entry)
                entry.pop("kind")
                entry.pop("apiVersion")
                groups.append(entry)
    known = {g["name"] for g in groups}
    groups.extend(g for g in aggregated or [] if g["name"] not in known)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
