"""The Service Bus data plane's management feeds and batch send (the parts servicebus.py does not hold).

- ``GET /$Resources/queues?api-version=2021-05&$skip=N&$top=M``: the namespace's queues as an Atom feed
  titled ``Queues``, one entry per queue (the entry ``GET /<queue>`` answers); what
  ``ServiceBusAdministrationClient.list_queues`` reads (azure-servicebus
  ``management/_generated/operations/_operations.py`` ``/$Resources/{entityType}``, ``$skip``/``$top`` paging)
  and KEDA's ``useRegex`` lists (kedacore/keda ``pkg/scalers/azure_servicebus_scaler.go``). Needs Manage.
- ``GET /$namespaceinfo?api-version=2021-05``: an Atom entry titled with the namespace whose content is
  ``NamespaceInfo`` (``CreatedTime``, ``MessagingSKU``, ``MessagingUnits`` for Premium only, ``ModifiedTime``,
  ``Name``, ``NamespaceType`` ``Messaging``), the elements of the SDK's ``NamespaceProperties`` model.
- ``POST /<queue>/messages`` with ``Content-Type: application/vnd.microsoft.servicebus.json`` sends a batch:
  a JSON array of ``{"Body", "BrokerProperties", "UserProperties"}``, stored as that many messages
  (https://learn.microsoft.com/rest/api/servicebus/send-message-batch).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from ..core import Request, Response
from .store import Record

if TYPE_CHECKING:
    from .servicebus import ServiceBusDataService

BATCH_CONTENT_TYPE = "application/vnd.microsoft.servicebus.json"
FEED = "application/atom+xml;type=feed;charset=utf-8"
ENTRY = "application/atom+xml;type=entry;charset=utf-8"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _arg(request: Request, name: str, default: int) -> int:
    for key, values in request.query.items():
        if key.lower() == name.lower() and values and values[-1].isdigit():
            return int(values[-1])
    return default


def queue_feed(service: ServiceBusDataService, namespace: Record, queues: list[Record], request: Request) -> Response:
    skip, top = _arg(request, "$skip", 0), _arg(request, "$top", 100)
    host = f"https://{namespace.body['name']}.servicebus.windows.net"
    query = urllib.parse.urlencode({"$skip": skip, "$top": top, "api-version": "2021-05"}, safe="$")
    url = escape(f"{host}/$Resources/queues?{query}")
    page = sorted(queues, key=lambda r: r.body["name"].lower())[skip:skip + top]
    entries = "".join(service.queue_entry(namespace, record, atom_namespace=False) for record in page)
    feed = (f'<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">Queues</title><id>{url}</id>'
            f'<updated>{_now()}</updated><link rel="self" href="{url}"/>{entries}</feed>')
    return Response(200, feed.encode(), {"Content-Type": FEED})


def namespace_info(namespace: Record) -> Response:
    name = namespace.body["name"]
    props = namespace.body["properties"]
    sku = (namespace.body.get("sku") or {}).get("name", "Standard")
    units = "<MessagingUnits>1</MessagingUnits>" if sku == "Premium" else ""
    url = f"https://{name}.servicebus.windows.net/$namespaceinfo?api-version=2021-05"
    entry = (f'<entry xmlns="http://www.w3.org/2005/Atom"><id>{url}</id><title type="text">{escape(name)}</title>'
             f'<updated>{_now()}</updated><author><name>{escape(name)}</name></author><link rel="self" href="{url}"/>'
             '<content type="application/xml"><NamespaceInfo xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" '
             'xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
             f'<CreatedTime>{props.get("createdAt")}</CreatedTime><MessagingSKU>{sku}</MessagingSKU>{units}'
             f'<ModifiedTime>{props.get("updatedAt")}</ModifiedTime><Name>{escape(name)}</Name>'
             '<NamespaceType>Messaging</NamespaceType></NamespaceInfo></content></entry>')
    return Response(200, entry.encode(), {"Content-Type": ENTRY})


def messages_of(request: Request) -> list[dict[str, Any]] | None:
    """The messages a send carries: one for a plain send, each array item for a batch; None for a
    batch body that is not a JSON array of objects with a string ``Body``."""
    content_type = (request.headers.get("Content-Type") or "text/plain").split(";")[0].strip().lower()
    if content_type != BATCH_CONTENT_TYPE:
        return [{"body": request.body, "content_type": request.headers.get("Content-Type") or "text/plain", "broker": {}}]
    try:
        items = json.loads((request.body or b"").decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) and isinstance(i.get("Body"), str) for i in items):
        return None
    messages = []
    for item in items:
        broker = item.get("BrokerProperties") if isinstance(item.get("BrokerProperties"), dict) else {}
        messages.append({"body": item["Body"].encode("utf-8"), "content_type": broker.get("ContentType") or "text/plain",
                         "broker": broker})
    return messages
