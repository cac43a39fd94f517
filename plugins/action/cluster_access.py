# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kedaops.aks.cluster_access in the controller (plugins/plugin_utils/_controller.py): the kubeconfig goes into
the run's private directory (the controller shell's per-run cache directory, 0700, removed when the run ends)."""

from __future__ import annotations

from ansible_collections.kedaops.aks.plugins.module_utils._cluster_access import RESOURCE
from ansible_collections.kedaops.aks.plugins.plugin_utils._controller import ControllerAction


class ActionModule(ControllerAction):
    resource = RESOURCE
