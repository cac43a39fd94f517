"""The lab's services by their names, typed: each service class answers under its ``name``.

``Lab.services`` maps names to the base ``Service``; the few services others call into are looked
up here so callers see their own methods. A service not running (a lab started without it) is None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from .azure.arm import ArmService
    from .azure.entra import EntraService
    from .azure.servicebus import ServiceBusDataService
    from .core import Lab
    from .k8s.service import KubernetesService


def arm(lab: Lab) -> ArmService | None:
    return cast("ArmService | None", lab.services.get("arm"))


def entra(lab: Lab) -> EntraService | None:
    return cast("EntraService | None", lab.services.get("entra"))


def k8s(lab: Lab) -> KubernetesService | None:
    return cast("KubernetesService | None", lab.services.get("k8s"))


def servicebus(lab: Lab) -> ServiceBusDataService | None:
    return cast("ServiceBusDataService | None", lab.services.get("servicebus"))
