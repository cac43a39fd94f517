"""The lab's Kubernetes API server emulator (see ``service.KubernetesService``)."""

from .errors import ApiError
from .service import KubernetesService

__all__ = ["ApiError", "KubernetesService"]
