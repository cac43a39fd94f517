# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k3s_issuer role's rewrite of kube-apiserver-arg, on plain data. Table-driven."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kedaops.aks.plugins.filter.k3s_issuer_config import k3s_issuer_config

ARC = "https://eastus.oic.prod-arc.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a/"
OLD_ARC = "https://westeurope.oic.prod-arc.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/0b8e2c4d/"
K3S = "https://kubernetes.default.svc.cluster.local"
AUDIT = "audit-log-path=/var/log/k3s-audit.log"
SIGN = f"service-account-issuer={ARC}"
KEEP_K3S = f"service-account-issuer={K3S}"
KEEP_OLD = f"service-account-issuer={OLD_ARC}"
MAX = "service-account-max-token-expiration=24h"


@pytest.mark.parametrize("args, expected", [
    # a missing or empty file, or a file without the key: K3s's own issuer stays accepted after the new one
    (None, [SIGN, KEEP_K3S, MAX]),
    ([], [SIGN, KEEP_K3S, MAX]),
    # other entries keep their place; K3s takes a single string too
    ([AUDIT], [AUDIT, SIGN, KEEP_K3S, MAX]),
    (AUDIT, [AUDIT, SIGN, KEEP_K3S, MAX]),
    # a cluster reconnected: the issuer before stays accepted, K3s's own is no longer (the file replaced it)
    ([KEEP_OLD, MAX], [SIGN, KEEP_OLD, MAX]),
    # our own result again: nothing changes (the role's idempotence)
    ([AUDIT, SIGN, KEEP_K3S, MAX], [AUDIT, SIGN, KEEP_K3S, MAX]),
    # the issuer was accepted but not signing: it moves first, once
    ([KEEP_K3S, SIGN], [SIGN, KEEP_K3S, MAX]),
    # another max token expiration is replaced, in any spelling K3s reads
    (["service-account-max-token-expiration=1h", AUDIT], [AUDIT, SIGN, KEEP_K3S, MAX]),
    ([f"--service-account-issuer={OLD_ARC}", "--service-account-max-token-expiration=48h"], [SIGN, KEEP_OLD, MAX]),
    # += appends to K3s's own issuer, -= puts itself before it (k3s-io/k3s pkg/util/args.go GetArgs)
    ([f"service-account-issuer+={OLD_ARC}"], [SIGN, KEEP_K3S, KEEP_OLD, MAX]),
    ([f"service-account-issuer-={OLD_ARC}"], [SIGN, KEEP_OLD, KEEP_K3S, MAX]),
    # an argument whose name only starts like ours is someone else's
    (["service-account-issuer-discovery=true"], ["service-account-issuer-discovery=true", SIGN, KEEP_K3S, MAX]),
])
def test_the_issuer_signs_first_and_the_issuers_before_stay_accepted(args, expected):
    config = None if args is None else {"write-kubeconfig-mode": "0644", "kube-apiserver-arg": args}
    after = k3s_issuer_config(config, ARC)
    assert after["kube-apiserver-arg"] == expected
    if config is not None:
        assert after["write-kubeconfig-mode"] == "0644"
        assert k3s_issuer_config(after, ARC) == after


def test_without_keep_previous_only_the_new_issuer_is_given():
    config = {"kube-apiserver-arg": [AUDIT, KEEP_OLD]}
    assert k3s_issuer_config(config, ARC, "12h", False)["kube-apiserver-arg"] == [
        AUDIT, SIGN, "service-account-max-token-expiration=12h"]


def test_the_default_previous_issuer_is_the_one_given():
    other_domain = "https://kubernetes.default.svc.corp.internal"
    assert k3s_issuer_config({}, ARC, default_previous=other_domain)["kube-apiserver-arg"] == [
        SIGN, f"service-account-issuer={other_domain}", MAX]


def test_the_configuration_read_is_not_modified():
    config = {"kube-apiserver-arg": [AUDIT]}
    k3s_issuer_config(config, ARC)
    assert config == {"kube-apiserver-arg": [AUDIT]}


@pytest.mark.parametrize("config, issuer, message", [
    (["kube-apiserver-arg"], ARC, "the K3s configuration must be a mapping, got list"),
    ({"kube-apiserver-arg": [AUDIT, 42]}, ARC, "kube-apiserver-arg must be a string or a list of strings"),
    ({"kube-apiserver-arg": {"audit-log-path": "/x"}}, ARC, "kube-apiserver-arg must be a string or a list of strings"),
    ({}, "", "the issuer must be a non-empty string"),
    ({}, None, "the issuer must be a non-empty string"),
])
def test_a_configuration_or_issuer_of_the_wrong_shape_is_refused(config, issuer, message):
    with pytest.raises(AnsibleFilterError, match="k3s_issuer_config: " + message):
        k3s_issuer_config(config, issuer)
