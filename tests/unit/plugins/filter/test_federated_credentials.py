# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workload_identity role's federated credentials and its budget report, on plain data. Table-driven."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kedaops.aks.plugins.filter.credential_budget import credential_budget
from ansible_collections.kedaops.aks.plugins.filter.federated_credentials import federated_credentials

ISSUER = "https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a/"


@pytest.mark.parametrize("subjects, issuer, credentials", [
    # keda_helm's operator with the article's credential name, and a workload account named by default
    ([{"namespace": "keda", "service_account": "keda-operator", "credential_name": "kedaFedIdentity"},
      {"namespace": "default", "service_account": "myconsumer"}], ISSUER,
     [{"name": "kedaFedIdentity", "issuer": ISSUER, "subject": "system:serviceaccount:keda:keda-operator"},
      {"name": "default-myconsumer", "issuer": ISSUER, "subject": "system:serviceaccount:default:myconsumer"}]),
    # the add-on's operator; the case of the names is kept (Entra compares the subject case-sensitively)
    ([{"namespace": "kube-system", "service_account": "KEDA-Operator"}], ISSUER,
     [{"name": "kube-system-KEDA-Operator", "issuer": ISSUER, "subject": "system:serviceaccount:kube-system:KEDA-Operator"}]),
    # an issuer not known yet (check mode) stays null; an empty credential_name is the default name
    ([{"namespace": "keda", "service_account": "keda-operator", "credential_name": ""}], None,
     [{"name": "keda-keda-operator", "issuer": None, "subject": "system:serviceaccount:keda:keda-operator"}]),
    ([], ISSUER, []),
    (None, ISSUER, []),
])
def test_one_credential_per_service_account_with_its_subject(subjects, issuer, credentials):
    assert federated_credentials(subjects, issuer) == credentials


@pytest.mark.parametrize("subject", [
    {"namespace": "keda"},
    {"service_account": "keda-operator"},
    {"namespace": "", "service_account": "keda-operator"},
    {"namespace": "keda", "service_account": None},
    "system:serviceaccount:keda:keda-operator",
])
def test_a_subject_without_namespace_or_service_account_is_refused_naming_its_index(subject):
    with pytest.raises(AnsibleFilterError, match=r"federated_credentials: subject 1 "):
        federated_credentials([{"namespace": "keda", "service_account": "keda-operator"}, subject], ISSUER)


def test_the_budget_reports_one_sentence_per_identity():
    planned = [dict(credential, host=host, resource_group="rg", identity=identity, cluster=f"aks:rg/{host}")
               for host, identity in (("aks-01", "id-a"), ("aks-02", "id-a"), ("aks-03", "id-b"))
               for credential in federated_credentials([{"namespace": "keda", "service_account": "keda-operator"}],
                                                       ISSUER.replace("3f1e6b0a", host))]
    existing = [{"exists": True, "identity": {"id": "/subscriptions/s/resourceGroups/rg/providers/"
                                                    "Microsoft.ManagedIdentity/userAssignedIdentities/id-a"},
                 "credentials": [{"issuer": ISSUER.replace("3f1e6b0a", "aks-01"),
                                  "subject": "system:serviceaccount:keda:keda-operator"}]}]
    report = credential_budget(planned, existing)
    assert report["ok"]
    assert report["summary"] == ["rg/id-a: 2 federated credentials (1 new) for 2 hosts.",
                                 "rg/id-b: 1 federated credentials (1 new) for 1 hosts."]
