# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure resources the collection may create and later delete (Service Bus namespaces and queues,
Azure Monitor workspaces): read-or-none, creation-only tags, the ownership test before a delete,
and the one long-running DELETE, all over ``ArmClient``'s pipeline.

Ownership is a tag set at creation only (``creation_tags``, e.g. ``managed-by: kedaops.aks``): a
resource the collection found never receives it, so a teardown that deletes only what carries it
never deletes what it did not create.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import (
    RETRY_METHODS,
    AzureError,
    azure_errors,
)
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

MANAGED_BY = {"managed-by": "kedaops.aks"}


def read(conn: AzureConnection, path: str, api_version: str, action: str) -> dict[str, Any] | None:
    """The resource, or None when ARM answers 404 (the resource, or its parent, is absent)."""
    try:
        return conn.arm().get(path, api_version, action)
    except AzureError as err:
        if err.status == 404:
            return None
        raise


def carries(tags: dict[str, Any] | None, required: dict[str, str] | None) -> bool:
    """True when every required tag is on the resource with the same value (no requirement: True)."""
    have = tags or {}
    return all(have.get(key) == value for key, value in (required or {}).items())


def check_tags(option: str, tags: dict[str, Any] | None) -> dict[str, str]:
    """ARM's tag rules, before any call: at most 50 tags, names up to 512 characters, values up to 256
    (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations)."""
    tags = tags or {}
    if len(tags) > 50:
        raise OptionError(f"{option}: at most 50 tags per resource, got {len(tags)}")
    for key, value in tags.items():
        if not key or len(key) > 512 or any(c in key for c in "<>%&\\?/"):
            raise OptionError(f"{option}: tag name {key!r} must be 1-512 characters without < > % & \\ ? /")
        if len(str(value)) > 256:
            raise OptionError(f"{option}: the value of tag {key!r} is longer than 256 characters")
    return {str(k): str(v) for k, v in tags.items()}


def delete_and_wait(conn: AzureConnection, path: str, api_version: str, action: str, timeout: float) -> None:
    """DELETE a resource and wait for its long-running operation (200, 202 + Location, or 204)."""
    from azure.core.polling import LROPoller
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    arm = conn.arm()
    with azure_errors(action):
        pipeline_response = arm.pipeline_client._pipeline.run(  # pylint: disable=protected-access
            arm._request("DELETE", path, api_version), retry_on_methods=RETRY_METHODS)
        arm._raise_for(pipeline_response.http_response, action)
        if pipeline_response.http_response.status_code != 202:
            return
        poller = LROPoller(arm.pipeline_client, pipeline_response, lambda pr: None, ARMPolling(10.0))
        poller.result(timeout=timeout)
        if poller.status().lower() != "succeeded":
            raise AzureError(f"Error {action}: operation still {poller.status()} after {timeout:.0f} s",
                             code="OperationTimedOut", status=None)


def absent(conn: AzureConnection, path: str, api_version: str, label: str, current: dict[str, Any] | None,
           require_tags: dict[str, str] | None, check_mode: bool, timeout: float) -> tuple[bool, str | None]:
    """Delete ``current`` if it carries ``require_tags``; returns (changed, why it was left alone)."""
    if current is None:
        return False, None
    if not carries(current.get("tags"), require_tags):
        return False, (f"{label} was left alone: it does not carry the tags {require_tags} "
                       "(the collection did not create it)")
    if not check_mode:
        delete_and_wait(conn, path, api_version, f"deleting {label}", timeout)
    return True, None
