# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event sources: the pure planners of the Service Bus and Azure Monitor modules, and the roles' filters
that derive role assignments and trigger metadata from one description of each source."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kedaops.aks.plugins.filter import keda_event_sources as f
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_monitor as amw
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_owned as owned
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_servicebus as sb
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import state_only

NS = {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/sb-orders", "name": "sb-orders",
      "location": "East US", "sku": {"name": "Standard"}, "tags": {},
      "properties": {"disableLocalAuth": True, "serviceBusEndpoint": "https://sb-orders.servicebus.windows.net:443/"}}


def test_a_new_namespace_is_standard_with_local_auth_off_and_creation_tags():
    body = sb.plan_namespace(None, {"location": "eastus", "creation_tags": {"managed-by": "kedaops.aks"}}, True, "ns")
    assert body == {"location": "eastus", "sku": {"name": "Standard", "tier": "Standard"},
                    "tags": {"managed-by": "kedaops.aks"}, "properties": {"disableLocalAuth": True}}


def test_an_existing_namespace_never_gets_creation_tags_and_changes_only_what_is_asked():
    assert sb.plan_namespace(NS, {"creation_tags": {"managed-by": "kedaops.aks"}, "location": "eastus"}, True, "ns") is None
    body = sb.plan_namespace(NS, {"disable_local_auth": False}, True, "ns")
    assert body is not None and body["properties"] == {"disableLocalAuth": False} and body["tags"] == {}


@pytest.mark.parametrize("requested, create, message", [
    ({}, False, r"^name: ns does not exist and create is false"),
    ({}, True, r"^location: needed to create ns"),
])
def test_a_missing_namespace(requested, create, message):
    with pytest.raises(OptionError, match=message):
        sb.plan_namespace(None, requested, create, "ns")


def test_a_namespace_cannot_move():
    with pytest.raises(OptionError, match=r"^location: ns is in 'East US'; a namespace cannot move to 'westus'"):
        sb.plan_namespace(NS, {"location": "westus"}, True, "ns")


@pytest.mark.parametrize("name, message", [
    ("sb-orders.servicebus.windows.net", "is a host name or URL; give the namespace name alone ('sb-orders')"),
    ("sb", "is not a Service Bus namespace name: 6-50"),
    ("orders-sb", "cannot end with -sb or -mgmt"),
])
def test_namespace_name_rules(name, message):
    with pytest.raises(OptionError) as err:
        sb.validate_namespace(name, {})
    assert str(err.value).startswith("name: ") and message in str(err.value)


def test_a_queue_update_keeps_the_writable_properties_as_read():
    queue = {"properties": {"lockDuration": "PT1M", "maxDeliveryCount": 10, "messageCount": 3, "status": "Active"}}
    assert sb.plan_queue(queue, {"max_delivery_count": 10}, True, "q") is None
    assert sb.plan_queue(queue, {"max_delivery_count": 5}, True, "q") == {
        "properties": {"lockDuration": "PT1M", "maxDeliveryCount": 5, "status": "Active"}}


def test_a_workspace_is_read_or_created_and_never_moved():
    current = {"location": "eastus", "tags": {"team": "a"}}
    assert amw.plan(current, {"creation_tags": {"managed-by": "kedaops.aks"}}, True, "w") is None
    assert amw.plan(None, {"location": "eastus", "creation_tags": {"managed-by": "kedaops.aks"}}, True, "w") == {
        "location": "eastus", "tags": {"managed-by": "kedaops.aks"}}
    with pytest.raises(OptionError, match=r"^name: w does not exist and create is false"):
        amw.plan(None, {}, False, "w")
    with pytest.raises(OptionError, match=r"^name: 'amw-' is not an Azure Monitor workspace name"):
        amw.validate("amw-", {})


ENTRIES = [{"name": "orders", "type": "servicebus", "resource_group": "rg", "namespace": "sb-orders", "queue": "orders"},
           {"name": "metrics", "type": "prometheus", "resource_group": "rg", "workspace": "amw",
            "workload_principal_id": "p-workload"}]
RESULTS = [{"item": ENTRIES[0], "namespace": {"id": NS["id"], "name": "sb-orders", "host": "sb-orders.servicebus.windows.net"}},
           {"item": ENTRIES[1], "workspace": {"id": "/w/amw", "prometheus_query_endpoint": "https://amw-1.eastus.prometheus"}}]


def test_sources_derive_roles_and_trigger_metadata():
    facts = f.event_source_facts(ENTRIES, RESULTS)
    assert facts["orders"]["metadata"] == {"namespace": "sb-orders", "queueName": "orders"}
    assert facts["metrics"]["metadata"] == {"serverAddress": "https://amw-1.eastus.prometheus"}
    assert f.event_source_roles(facts) == [
        {"scope": "/w/amw", "role": "Monitoring Data Reader"},
        {"scope": "/w/amw", "role": "Monitoring Data Reader", "principal_id": "p-workload"},
        {"scope": NS["id"], "role": "Azure Service Bus Data Owner"}]
    assert len(f.event_source_roles(facts, workload=False)) == 2
    scalers = [{"name": "consumer", "triggers": [{"event_source": "orders", "metadata": {"messageCount": "10"}}]}]
    assert f.event_source_triggers(scalers, facts)[0]["triggers"] == [
        {"type": "azure-servicebus", "metadata": {"messageCount": "10", "namespace": "sb-orders", "queueName": "orders"}}]
    assert scalers[0]["triggers"][0]["event_source"] == "orders"  # the input is not changed


def test_before_the_sources_are_read_the_entries_give_names_and_hosts():
    facts = f.event_source_facts(ENTRIES, [])
    assert facts["orders"]["host"] == "sb-orders.servicebus.windows.net" and facts["orders"]["id"] is None
    assert f.event_source_roles(facts) == []


def test_a_source_read_as_missing_derives_no_role_and_says_so():
    missing = [{"item": ENTRIES[0], "changed": False, "exists": False, "namespace": None},
               {"item": ENTRIES[1], "changed": False, "exists": False, "workspace": None}]
    facts = f.event_source_facts(ENTRIES, missing)
    assert [facts[name]["exists"] for name in ("orders", "metrics")] == [False, False]
    assert facts["orders"]["host"] == "sb-orders.servicebus.windows.net" and facts["orders"]["id"] is None
    assert f.event_source_roles(facts) == []
    assert f.event_source_facts(ENTRIES, RESULTS)["orders"]["exists"] is None  # a result without the key


@pytest.mark.parametrize("trigger, message", [
    ({"event_source": "nowhere"}, r"^consumer\.triggers\[0\]\.event_source: no event source named 'nowhere'"),
    ({"event_source": "orders", "type": "prometheus"}, r"the trigger type must be azure-servicebus, got 'prometheus'"),
    ({"event_source": "orders", "metadata": {"queueName": "other"}},
     r"metadata\.queueName is 'other' but source 'orders' gives 'orders'; drop metadata\.queueName"),
])
def test_a_trigger_that_contradicts_its_source_is_refused(trigger, message):
    with pytest.raises(AnsibleFilterError, match=message):
        f.event_source_triggers([{"name": "consumer", "triggers": [trigger]}], f.event_source_facts(ENTRIES, RESULTS))


# --- one ownership rule, children never act on parents ----------------------------------------------

@pytest.mark.parametrize("tags, message", [
    ({}, "require_tags: an empty tag set would match every resource"),
    ({"managed-by": ""}, "require_tags: tag 'managed-by' has an empty name or value"),
    ({" ": "kedaops.aks"}, "require_tags: tag ' ' has an empty name or value"),
])
def test_an_empty_or_blank_ownership_tag_set_is_refused_before_any_call(tags, message):
    with pytest.raises(OptionError, match=f"^{message}"):
        sb.validate_namespace("sb-orders", {"require_tags": tags})
    with pytest.raises(OptionError, match=f"^{message}"):
        amw.validate("amw-keda", {"require_tags": tags})


def test_the_marker_alone_is_a_valid_ownership_tag_set():
    sb.validate_namespace("sb-orders", {"require_tags": {"managed-by": "kedaops.aks"}})


def test_what_a_resource_holds_that_is_not_ours_is_named_case_insensitively():
    assert owned.foreign(["orders", "Invoices", "other-team"], ["ORDERS", "invoices"]) == ["other-team"]
    assert owned.foreign(["orders"], None) == ["orders"]
    assert "kept: it carries queues this run does not own (other-team)" in owned.kept_for(
        "Service Bus namespace sb-orders", "queues", ["other-team"])


@pytest.mark.parametrize("state, given, message", [
    ("absent", {"queues": [{"name": "orders"}]}, "^queues: only means something with state: present, and this task has "
                                                 "state: absent"),
    ("present", {"owned_queues": ["orders"]}, "^owned_queues: only means something with state: absent"),
])
def test_an_option_of_the_other_state_is_refused(state, given, message):
    with pytest.raises(OptionError, match=message):
        state_only(state, given)


def test_options_not_given_pass_either_state():
    state_only("absent", {"queues": [], "tags": None, "location": None, "purge_tags": None})


def test_two_event_sources_with_one_name_are_refused():
    entries = [{"name": "orders", "type": "servicebus", "namespace": "sb-a"},
               {"name": "orders", "type": "servicebus", "namespace": "sb-b"}]
    with pytest.raises(AnsibleFilterError, match="the name 'orders' is given to two sources"):
        f.event_source_facts(entries, [])
