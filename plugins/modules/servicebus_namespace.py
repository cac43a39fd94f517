#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: servicebus_namespace
short_description: Create, read or delete an Azure Service Bus namespace, with local (SAS) authentication off
version_added: 0.2.0
description:
  - Ensures an Azure Service Bus namespace (C(Microsoft.ServiceBus/namespaces), api-version 2021-11-01) over
    plain ARM REST, the way C(az servicebus namespace create --disable-local-auth) does; the create is
    long-running and awaited.
  - A new namespace gets sku C(Standard) and local authentication disabled unless told otherwise, so only
    Microsoft Entra tokens (KEDA's workload identity) reach it. On an existing namespace only the options
    given are changed; its location never is.
  - With O(create=false) the module only reads; a namespace that does not exist is an answer, not a failure
    (RV(exists=false), RV(namespace) null, no write). This is how the roles use a namespace they found, which
    they never change or delete. O(queues) with a missing namespace and O(create=false) fail naming O(queues).
  - Returns the namespace id (the scope of a role assignment) and its host (C(<name>.servicebus.windows.net)),
    so neither is typed. One module serves reading and writing (no C(_info) form), as the roles' event sources
    say C(create) per source, and the read is the same single GET either way.
  - O(state=absent) deletes the namespace (its queues with it) only when it carries O(require_tags) (when given)
    and holds no queue but those of O(owned_queues), since deleting it would delete another team's queue. Otherwise it
    is kept, with a warning naming the foreign queues, and RV(left_alone) says why (docs/ownership.md).
  - Options that only mean something for a namespace that stays (O(queues), O(location), O(sku),
    O(disable_local_auth), O(tags), O(creation_tags)) are refused with O(state=absent), and O(require_tags) and
    O(owned_queues) with O(state=present), before any call.
author:
  - kedaops.aks contributors (@kedaops)
options:
  resource_group:
    description: The namespace's resource group.
    type: str
    required: true
  name:
    description:
      - The namespace name (6-50 letters, numbers and hyphens), not its host name.
    type: str
    required: true
  location:
    description: The region; needed to create the namespace.
    type: str
  sku:
    description: The pricing tier; C(Standard) when the module creates the namespace and this is omitted.
    type: str
    choices: [Basic, Standard, Premium]
  disable_local_auth:
    description:
      - Disable local (SAS key) authentication (C(properties.disableLocalAuth)).
      - C(true) when the module creates the namespace and this is omitted (as seed 001's
        C(--disable-local-auth)); on an existing namespace, changed only when given.
    type: bool
  tags:
    description: Tags to set (other tags are kept).
    type: dict
  creation_tags:
    description:
      - Tags set only when the module creates the namespace, never added to one that exists. The roles mark
        what they create with C(managed-by=kedaops.aks) this way.
    type: dict
  require_tags:
    description:
      - With O(state=absent), delete only a namespace carrying all of these tags.
      - An empty set, or a tag with an empty name or value, is refused (it would match a namespace the
        collection only found).
    type: dict
  owned_queues:
    description:
      - With O(state=absent), the queues of the namespace that the caller created (compared case-insensitively).
        A namespace holding any other queue is kept, with a warning naming it. Queues carry no tags in ARM, so
        this list is how a caller says which are its own.
    type: list
    elements: str
  create:
    description: Create the namespace when it does not exist; with C(false) a missing namespace is reported as
      RV(exists=false).
    type: bool
    default: true
  state:
    description: C(present) to create or update, C(absent) to delete.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description:
      - Seconds to wait for the create or delete to finish (and, within it, for another operation in progress on
        the namespace, Service Bus's 409 SubCode 40901); at least C(1).
      - A create or delete that Azure accepted but that is still running then fails the task with C(changed=true).
    type: int
    default: 900
  queues:
    description:
      - With O(state=present), queues to ensure in the namespace once it exists, in the same task (one process and
        one token for the namespace and its queues), each decided exactly as M(kedaops.aks.servicebus_queue)
        decides it; every item is checked before the first call.
      - Queues not listed, and properties not given, are left alone. An item with
        O(queues[].state=absent) removes that queue (the namespace stays).
      - Refused with O(state=absent), where the namespace's deletion would ignore it (a child never acts on its parent).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The queue name.
        type: str
        required: true
      max_delivery_count:
        description: C(maxDeliveryCount).
        type: int
      lock_duration:
        description: C(lockDuration), an ISO 8601 duration of at most C(PT5M) (Service Bus's maximum).
        type: str
      max_size_in_megabytes:
        description: C(maxSizeInMegabytes).
        type: int
      default_message_time_to_live:
        description: C(defaultMessageTimeToLive), an ISO 8601 duration.
        type: str
      create:
        description: Create the queue when it does not exist; with C(false) a missing queue is an error.
        type: bool
        default: true
      state:
        description: C(present) to ensure the queue, C(absent) to remove it (its properties are then refused).
        type: str
        choices: [present, absent]
        default: present
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.azure_auth.action_group
  - kedaops.aks.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
seealso:
  - module: kedaops.aks.servicebus_queue
  - module: kedaops.aks.role_assignment
  - name: Disable local or SAS key authentication with Azure Service Bus
    description: What disableLocalAuth turns off, and why Entra tokens remain.
    link: https://learn.microsoft.com/azure/service-bus-messaging/disable-local-authentication
"""

EXAMPLES = r"""
- name: A namespace that only accepts Entra tokens, marked as ours
  kedaops.aks.servicebus_namespace:
    resource_group: rg-keda-integration
    name: sb-keda-demo
    location: eastus
    creation_tags: {managed-by: kedaops.aks}
  register: sb

- name: Let KEDA's identity read the queue lengths
  kedaops.aks.role_assignment:
    scope: "{{ sb.namespace.id }}"
    role: Azure Service Bus Data Owner
    principal_id: "{{ keda_identity.principal_id }}"

- name: The namespace and the queue KEDA reads, in one task
  kedaops.aks.servicebus_namespace:
    resource_group: rg-keda-integration
    name: keda-sb-orders
    location: eastus
    creation_tags: {managed-by: kedaops.aks}
    queues:
      - name: orders
        max_delivery_count: 5

- name: Read a namespace we did not create
  kedaops.aks.servicebus_namespace:
    resource_group: rg-shared
    name: sb-shared
    create: false

- name: Remove one queue; the namespace and its other queues stay
  kedaops.aks.servicebus_namespace:
    resource_group: rg-keda-integration
    name: keda-sb-orders
    queues:
      - name: orders
        state: absent

- name: Delete it only if we created it and it holds no queue but ours
  kedaops.aks.servicebus_namespace:
    resource_group: rg-keda-integration
    name: sb-keda-demo
    state: absent
    require_tags: {managed-by: kedaops.aks}
    owned_queues: [orders]
"""

RETURN = r"""
queues:
  description:
    - The queues of O(queues) with O(queues[].state=present), in its order, after the run (predicted in check mode), with the keys of
      M(kedaops.aks.servicebus_queue)'s RV(kedaops.aks.servicebus_queue#module:queue) and C(created).
  returned: with O(state=present)
  type: list
  elements: dict
  sample:
    - id: /subscriptions/<subscription>/resourceGroups/rg-keda-integration/providers/Microsoft.ServiceBus/namespaces/keda-sb-orders/queues/orders
      name: orders
      max_delivery_count: 5
      lock_duration: PT1M
      max_size_in_megabytes: 1024
      default_message_time_to_live: P14D
      status: Active
      created: false
namespace:
  description: The namespace after the run (predicted in check mode); null when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The namespace's resource id, the scope of its role assignments.
      type: str
      sample: /subscriptions/<subscription>/resourceGroups/rg-keda-integration/providers/Microsoft.ServiceBus/namespaces/sb-keda-demo
    name:
      description: The namespace name (KEDA's C(namespace) trigger metadata).
      type: str
    location:
      description: The region.
      type: str
    sku:
      description: The pricing tier.
      type: str
    disable_local_auth:
      description: Whether local (SAS) authentication is disabled.
      type: bool
    endpoint:
      description: The namespace endpoint.
      type: str
      sample: https://sb-keda-demo.servicebus.windows.net:443/
    host:
      description: The fully qualified namespace a client connects to.
      type: str
      sample: sb-keda-demo.servicebus.windows.net
    tags:
      description: The namespace's tags.
      type: dict
    provisioning_state:
      description: ARM's provisioning state.
      type: str
    status:
      description: The namespace status (C(Active) once usable).
      type: str
exists:
  description: Whether the namespace exists after the run (predicted in check mode); V(false) for a missing one
    with O(create=false).
  returned: always
  type: bool
  sample: true
created:
  description: Whether this run created the namespace.
  returned: when O(state=present)
  type: bool
left_alone:
  description: Why O(state=absent) did not delete an existing namespace (it lacks O(require_tags), or it holds
    queues not in O(owned_queues)).
  returned: when O(state=absent)
  type: str
error:
  description: Azure's error, when the module failed on an Azure call.
  returned: failure
  type: dict
  contains:
    code:
      description: Azure's error code.
      type: str
    message:
      description: Azure's error message.
      type: str
    status:
      description: The HTTP status.
      type: int
"""

from ansible_collections.kedaops.aks.plugins.module_utils._azure_servicebus_core import NAMESPACE_RESOURCE as RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
