#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: servicebus_queue
short_description: Create, read or delete a queue of an Azure Service Bus namespace
version_added: 0.2.0
description:
  - Ensures a queue (C(Microsoft.ServiceBus/namespaces/queues), api-version 2021-11-01) over plain ARM REST,
    as C(az servicebus queue create) does.
  - Manages the properties a KEDA user tunes (O(max_delivery_count), O(lock_duration),
    O(max_size_in_megabytes), O(default_message_time_to_live)); an omitted one is Azure's default on
    creation and left as it is afterwards. Because a queue PUT replaces every property, an update sends
    the queue's writable properties as read with the requested ones changed.
  - With O(create=false) the module only reads, and fails when the queue does not exist.
  - Queues carry no tags; a queue is removed with its namespace, or by O(state=absent) (the queue's properties
    are then refused; a queue to delete is found by its name).
  - A queue to create is created only in a namespace that exists. When the queue is missing the namespace is
    read first, and a missing namespace fails naming O(namespace) with nothing written (in check mode, a
    warning, since an earlier task may create it).
author:
  - kedaops.aks contributors (@kedaops)
options:
  resource_group:
    description: The namespace's resource group.
    type: str
    required: true
  namespace:
    description: The namespace name (not its host name).
    type: str
    required: true
  name:
    description: The queue name (KEDA's C(queueName)).
    type: str
    required: true
  max_delivery_count:
    description: Deliveries before a message is dead-lettered (C(maxDeliveryCount)).
    type: int
  lock_duration:
    description: The peek-lock duration, ISO 8601 (C(lockDuration), e.g. C(PT1M)); at most C(PT5M), Service Bus's maximum.
    type: str
  max_size_in_megabytes:
    description: The queue's maximum size (C(maxSizeInMegabytes)).
    type: int
  default_message_time_to_live:
    description: The messages' time to live, ISO 8601 (C(defaultMessageTimeToLive), e.g. C(P14D)).
    type: str
  create:
    description: Create the queue when it does not exist; with C(false) a missing queue is an error.
    type: bool
    default: true
  state:
    description: C(present) to create or update, C(absent) to delete.
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
  - module: kedaops.aks.servicebus_namespace
  - module: kedaops.aks.keda_scaled_job
"""

EXAMPLES = r"""
- name: The queue KEDA scales on
  kedaops.aks.servicebus_queue:
    resource_group: rg-keda-integration
    namespace: sb-keda-demo
    name: orders

- name: Deliver a message at most five times
  kedaops.aks.servicebus_queue:
    resource_group: rg-keda-integration
    namespace: sb-keda-demo
    name: orders
    max_delivery_count: 5
    lock_duration: PT30S
"""

RETURN = r"""
queue:
  description: The queue after the run (predicted in check mode); null when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The queue's resource id.
      type: str
    name:
      description: The queue name.
      type: str
    max_delivery_count:
      description: C(maxDeliveryCount).
      type: int
    lock_duration:
      description: C(lockDuration).
      type: str
    max_size_in_megabytes:
      description: C(maxSizeInMegabytes).
      type: int
    default_message_time_to_live:
      description: C(defaultMessageTimeToLive).
      type: str
    status:
      description: The queue status.
      type: str
created:
  description: Whether this run created the queue.
  returned: when O(state=present)
  type: bool
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

from ansible_collections.kedaops.aks.plugins.module_utils._azure_servicebus_core import QUEUE_RESOURCE as RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
