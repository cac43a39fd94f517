"""The lab's Azure: Resource Manager (identities, federated credentials, roles, AKS) and the Entra token endpoint."""

from __future__ import annotations

from .arm import ArmService
from .entra import EntraService
from .monitor import PrometheusService
from .servicebus import ServiceBusDataService

__all__ = ["ArmService", "EntraService", "PrometheusService", "ServiceBusDataService"]
