"""Service Bus namespace authorization rules, their keys, and namespace name availability (ARM).

- Every new namespace gets the rule ``RootManageSharedAccessKey`` with rights Listen, Manage and Send
  (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-sas, "Shared access authorization
  policies"). Disabling local auth neither removes rules nor hides their keys: it only makes the data
  plane refuse SAS tokens (https://learn.microsoft.com/azure/service-bus-messaging/disable-local-authentication).
- ``POST .../AuthorizationRules/{rule}/listKeys`` answers 200 with ``primaryConnectionString``,
  ``secondaryConnectionString``, ``primaryKey``, ``secondaryKey``, ``keyName`` (the keys and order of
  ../shared/reference/recordings/azure-service-operator/Test_ServiceBus_Namespace_Standard_v1api20240101_CRUD.yaml
  #RootManageSharedAccessKey/listKeys); ``regenerateKeys`` (``{"keyType": "PrimaryKey"|"SecondaryKey"}``)
  answers the same shape with the new key.
- Rules: ``Namespaces_CreateOrUpdateAuthorizationRule`` / ``Get`` / ``Delete`` / ``ListAuthorizationRules``
  (specification/servicebus/.../stable/2021-11-01/AuthorizationRules.json): PUT 200 with ``properties.rights``
  (each of Listen, Send, Manage), DELETE 200 / 204. The text of the lab's 400 for other rights is its own
  (no public recording of that refusal was found).
- ``POST /subscriptions/{id}/providers/Microsoft.ServiceBus/CheckNameAvailability`` ``{"name": ...}``:
  200 ``{"nameAvailable", "reason", "message"}`` with reason ``None`` / ``InvalidName`` ("The specified service
  namespace is invalid.") / ``NameInUse`` ("The specified service namespace is not available."), the texts of
  Azure/azure-powershell src/ResourceManager/ServiceBus/Commands.ServiceBus/help/Test-AzureRmServiceBusName.md.
  Namespace names: 6-50 characters, letters, digits and hyphens, starting with a letter and ending with a
  letter or digit, not ending in ``-sb`` or ``-mgmt``
  (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftservicebus).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import urllib.parse
import uuid
from typing import Any

from ..core import Response
from . import errors, versions
from .context import ArmContext, paginate
from .errors import ArmError
from .store import ArmStore, Record

RULE_KIND = "microsoft.servicebus/namespaces/authorizationrules"
ROOT_RULE = "RootManageSharedAccessKey"
RIGHTS = ("Listen", "Send", "Manage")
HOST_SUFFIX = ".servicebus.windows.net"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$")


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _rule_body(namespace: Record, name: str, rights: list[str]) -> dict[str, Any]:
    return {"id": f"{namespace.id}/authorizationRules/{name}", "name": name,
            "type": "Microsoft.ServiceBus/Namespaces/AuthorizationRules", "location": namespace.body["location"],
            "properties": {"rights": list(rights)}}


def create_root_rule(store: ArmStore, namespace: Record) -> None:
    """The rule every new namespace carries (called where a namespace is created, and by the seed)."""
    body = _rule_body(namespace, ROOT_RULE, ["Listen", "Manage", "Send"])
    store.put(Record(body["id"], RULE_KIND, body, meta={"primaryKey": _key(), "secondaryKey": _key()}))


def _namespace(ctx: ArmContext) -> Record:
    group = ctx.resource_group_record()
    name = ctx.path.names[0]
    from .servicebus import namespace_id
    record = ctx.store.get(namespace_id(group.body["name"], name))
    if record is None:
        raise errors.resource_not_found(f"Microsoft.ServiceBus/namespaces/{name}", group.body["name"])
    return record


def _rule(ctx: ArmContext, namespace: Record, name: str) -> Record:
    record = ctx.store.get(f"{namespace.id}/authorizationRules/{name}")
    if record is None:
        # The Service Bus RP's entity-not-found text, as its Queues_Get 404 words it (servicebus.py).
        raise ArmError(404, "NotFound", f"Entity '{namespace.body['name']}:AuthorizationRule:{name}' was not found. "
                       f"To know more visit https://aka.ms/sbResourceMgrExceptions. TrackingId:{uuid.uuid4()}_G0")
    return record


def keys_view(namespace: Record, rule: Record) -> dict[str, Any]:
    endpoint = f"Endpoint=sb://{namespace.body['name']}{HOST_SUFFIX}/;SharedAccessKeyName={rule.body['name']};SharedAccessKey="
    return {"primaryConnectionString": endpoint + rule.meta["primaryKey"],
            "secondaryConnectionString": endpoint + rule.meta["secondaryKey"],
            "primaryKey": rule.meta["primaryKey"], "secondaryKey": rule.meta["secondaryKey"], "keyName": rule.body["name"]}


def handle_rule(ctx: ArmContext) -> Response:
    versions.check(ctx.api_version, None)
    namespace = _namespace(ctx)
    if ctx.path.is_collection:
        if ctx.method != "GET":
            raise errors.method_not_allowed(ctx.method, "Microsoft.ServiceBus/namespaces/authorizationRules")
        return paginate(ctx, [r.view() for r in ctx.store.find(RULE_KIND, namespace.id)])
    name = ctx.path.names[1]
    if ctx.method == "GET":
        return Response.json(200, _rule(ctx, namespace, name).view())
    if ctx.method == "DELETE":
        return Response(200) if ctx.store.delete(f"{namespace.id}/authorizationRules/{name}") else Response(204)
    if ctx.method != "PUT":
        raise errors.method_not_allowed(ctx.method, "Microsoft.ServiceBus/namespaces/authorizationRules")
    rights = (ctx.body().get("properties") or {}).get("rights")
    if not isinstance(rights, list) or not rights or any(r not in RIGHTS for r in rights):
        raise ArmError(400, "BadRequest", "The rights of an authorization rule must be one or more of Listen, Send, Manage.")
    with ctx.store.lock:
        record = ctx.store.get(f"{namespace.id}/authorizationRules/{name}")
        if record is None:
            body = _rule_body(namespace, name, rights)
            record = ctx.store.put(Record(body["id"], RULE_KIND, body, meta={"primaryKey": _key(), "secondaryKey": _key()}))
        else:
            record.body["properties"]["rights"] = list(rights)
            record.updated = time.time()
    return Response.json(200, record.view())


def handle_rule_action(ctx: ArmContext) -> Response:
    versions.check(ctx.api_version, None)
    action = ctx.path.types[-1].lower()
    if ctx.method != "POST":
        raise errors.method_not_allowed(ctx.method, f"Microsoft.ServiceBus/namespaces/authorizationRules/{ctx.path.types[-1]}")
    namespace = _namespace(ctx)
    rule = _rule(ctx, namespace, ctx.path.names[1])
    if action == "regeneratekeys":
        key_type = ctx.body().get("keyType")
        if key_type not in ("PrimaryKey", "SecondaryKey"):
            raise ArmError(400, "BadRequest", "keyType must be PrimaryKey or SecondaryKey.")
        rule.meta["primaryKey" if key_type == "PrimaryKey" else "secondaryKey"] = _key()
    return Response.json(200, keys_view(namespace, rule))


def handle_check_name(ctx: ArmContext) -> Response:
    versions.check(ctx.api_version, None)
    if ctx.method != "POST":
        raise errors.method_not_allowed(ctx.method, "Microsoft.ServiceBus/CheckNameAvailability")
    name = ctx.body().get("name")
    if not isinstance(name, str) or not name:
        raise errors.invalid_request_content("Required property 'name' not found in JSON. Path ''")
    from .servicebus import NAMESPACE_KIND
    if not _NAME.match(name) or name.lower().endswith(("-sb", "-mgmt")):
        answer = {"nameAvailable": False, "reason": "InvalidName", "message": "The specified service namespace is invalid."}
    elif any(r.body["name"].lower() == name.lower() for r in ctx.store.find(NAMESPACE_KIND)):
        # Namespace names are global (their host name); the lab's one subscription stands for all of Azure.
        answer = {"nameAvailable": False, "reason": "NameInUse", "message": "The specified service namespace is not available."}
    else:
        answer = {"nameAvailable": True, "reason": "None", "message": ""}
    return Response.json(200, answer)


# -- SAS on the data plane ---------------------------------------------------------------------------


def sas_rights(store: ArmStore, namespace: Record, header: str) -> list[str] | None:
    """The rights of a valid SharedAccessSignature for this namespace, or None (bad signature, expired,
    unknown rule). Token format: ``SharedAccessSignature sr=<url>&sig=<b64 HMAC-SHA256(url-encoded sr + "\\n" +
    se)>&se=<expiry>&skn=<rule>`` (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-sas)."""
    fields = dict(urllib.parse.parse_qsl(header.strip()[len("SharedAccessSignature"):].strip(), keep_blank_values=True))
    rule = store.get(f"{namespace.id}/authorizationRules/{fields.get('skn', '')}")
    if rule is None or not fields.get("sr") or not fields.get("se", "").isdigit() or int(fields["se"]) < time.time():
        return None
    to_sign = (urllib.parse.quote_plus(fields["sr"]) + "\n" + fields["se"]).encode()
    for key in (rule.meta["primaryKey"], rule.meta["secondaryKey"]):
        expected = base64.b64encode(hmac.new(key.encode(), to_sign, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(expected, fields.get("sig", "")):
            return list(rule.body["properties"]["rights"])
    return None
