# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module shell: an AnsibleModule validating with the resource's full argument spec (the Azure and
Kubernetes auth options merged in, documented by the ``kedaops.aks.azure_auth`` and ``kedaops.aks.k8s_auth``
doc fragments), ``_core.execute`` for the task, and its result as the module's exit or failure.

A module's ``main()`` is then one line: ``run_module(RESOURCE)``. The controller shell
(``plugins/plugin_utils/_controller.py``) runs the same ``execute`` in the controller's worker.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kedaops.aks.plugins.module_utils._core import Resource, execute


def run_module(resource: Resource[Any]) -> None:
    """The module shell: validate with the resource's own spec, run ``execute`` and exit with its result."""
    module = AnsibleModule(argument_spec=resource.full_spec(), supports_check_mode=resource.supports_check_mode,
                           **resource.rules)
    outcome = execute(resource, module.params, check_mode=module.check_mode, want_diff=module._diff)
    for warning in outcome.pop("warnings", []):
        module.warn(warning)
    if outcome.pop("failed", False):
        module.fail_json(**outcome)
    module.exit_json(**outcome)
