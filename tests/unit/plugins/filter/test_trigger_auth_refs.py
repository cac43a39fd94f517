# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""doctor.yml's TriggerAuthentication references: the user's kind kept, only what workload_identity_info takes."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kedaops.aks.plugins.filter.trigger_auth_refs import trigger_auth_refs

CLIENT_ID = "5f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b"


@pytest.mark.parametrize("items, refs", [
    # the scenario files' form: a namespaced TriggerAuthentication, kind left to the default
    ([{"name": "azure-servicebus-auth", "namespace": "default"}],
     [{"name": "azure-servicebus-auth", "namespace": "default"}]),
    # a ClusterTriggerAuthentication stays one; identity_id and provider are not references
    ([{"name": "shared-auth", "kind": "ClusterTriggerAuthentication", "identity_id": CLIENT_ID,
       "provider": "azure-workload"}],
     [{"name": "shared-auth", "kind": "ClusterTriggerAuthentication"}]),
    # every keda_trigger_auth option but the three is left out, null values too
    ([{"name": "ta", "namespace": "apps", "kind": "TriggerAuthentication", "identity_id": CLIENT_ID,
       "identity_tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "identity_authority_host": None,
       "state": "present"}],
     [{"name": "ta", "namespace": "apps", "kind": "TriggerAuthentication"}]),
    ([], []),
    (None, []),
])
def test_references_keep_the_kind_and_drop_what_the_object_holds(items, refs):
    assert trigger_auth_refs(items) == refs


@pytest.mark.parametrize("item", [{"namespace": "default"}, {"name": ""}, "azure-servicebus-auth"])
def test_an_item_without_a_name_is_refused_naming_its_index(item):
    with pytest.raises(AnsibleFilterError, match=r"trigger_auth_refs: item 1 needs a name"):
        trigger_auth_refs([{"name": "ok"}, item])
