"""The lab's Azure: Resource Manager (identities, federated credentials, roles, AKS), the Entra token
endpoint and the Microsoft Graph look-ups the Azure CLI makes."""

from __future__ import annotations

from .arm import ArmService
from .entra import EntraService
from .graph import GraphService
from .monitor import PrometheusService
from .servicebus import ServiceBusDataService

__all__ = ["ArmService", "EntraService", "GraphService", "PrometheusService", "ServiceBusDataService"]
