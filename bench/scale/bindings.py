# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scale scenario's variables: N workload bindings spread over M identities.

Each binding: namespace team-NNN, service account ``worker`` annotated for its identity, a
federated credential ``team-NNN-worker`` on identity ``mi-scale-K`` (bindings dealt round-robin,
so at most ceil(N / M) per identity: 20 for 100 over 5, the Entra limit), a TriggerAuthentication,
a ScaledObject on the seeded Service Bus queue, and the identity's Azure Service Bus Data Owner
role on the seeded namespace.

Usage: python bench/scale/bindings.py [BINDINGS] [IDENTITIES] > vars.json  (with the lab's env.sh sourced)
then:  ansible-playbook -i localhost, bench/scale/converge.yml -e @vars.json
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

FIC_LIMIT = 20


def scale_vars(bindings: int, identities: int, environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ) if environ is None else environ
    if math.ceil(bindings / identities) > FIC_LIMIT:
        raise ValueError(f"{bindings} bindings over {identities} identities exceed {FIC_LIMIT} credentials per identity")
    scope = environ["LAB_SERVICEBUS_NAMESPACE_ID"]
    items = []
    for index in range(bindings):
        namespace = f"team-{index:03d}"
        items.append({
            "namespace": namespace,
            "service_account": "worker",
            "identity": f"mi-scale-{index % identities}",
            "trigger_auth": {"name": "azure-workload"},
            "scaled_object": {
                "name": "worker",
                "scale_target": {"name": "worker"},
                "max_replicas": 10,
                "triggers": [{"type": "azure-servicebus",
                              "metadata": {"namespace": scope.rsplit("/", 1)[-1], "queueName": "orders",
                                           "messageCount": "5"},
                              "authentication_ref": {"name": "azure-workload"}}],
            },
            "role_assignments": [{"scope": scope, "role": "Azure Service Bus Data Owner"}],
        })
    return {
        "scale_resource_group": environ["LAB_RESOURCE_GROUP"],
        "scale_cluster_name": environ["LAB_AKS_NAME"],
        "scale_location": environ.get("LAB_LOCATION", "eastus"),
        "scale_identity_names": [f"mi-scale-{k}" for k in range(identities)],
        "scale_binding_list": items,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    spread = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    json.dump(scale_vars(count, spread), sys.stdout, indent=1)
