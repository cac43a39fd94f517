# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kedaops.aks.keda_operator_info in the controller (plugins/plugin_utils/_controller.py; docs/performance.md)."""

from __future__ import annotations

from ansible_collections.kedaops.aks.plugins.module_utils._keda_operators import RESOURCE
from ansible_collections.kedaops.aks.plugins.plugin_utils._controller import ControllerAction


class ActionModule(ControllerAction):
    resource = RESOURCE
