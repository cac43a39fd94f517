# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KEDA's ScaledObject webhook rules on other objects (scaledobject_webhook.go verifyScaledObjects and
verifyHpas), as the collection checks them before a write: input -> the other object named, or None."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _keda_conflicts as conflicts
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

WEB = {"scaleTargetRef": {"name": "web"}}


def so(name: str, spec: dict, **meta) -> dict:
    return {"metadata": dict(name=name, **meta), "spec": spec}


def hpa(name: str, target: dict, annotations: dict | None = None, owners: list | None = None) -> dict:
    return {"metadata": {"name": name, "annotations": annotations or {}, "ownerReferences": owners or []},
            "spec": {"scaleTargetRef": target}}


DEPLOYMENT_WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}

CASES = [
    # (spec of "mine", annotations of "mine", other ScaledObjects, HPAs, expected fragment or None)
    (WEB, {}, [so("other", {"scaleTargetRef": {"name": "web", "kind": "Deployment", "apiVersion": "apps/v1"}})], [],
     "already scaled by ScaledObject ns/other"),
    (WEB, {}, [so("other", {"scaleTargetRef": {"name": "web", "kind": "StatefulSet"}})], [], None),
    (WEB, {}, [so("mine", {"scaleTargetRef": {"name": "web"}})], [], None),  # itself, being updated
    (WEB, {}, [so("gone", WEB, deletionTimestamp="2026-01-01T00:00:00Z")], [], None),
    ({"scaleTargetRef": {"name": "api"}, "advanced": {"horizontalPodAutoscalerConfig": {"name": "keda-hpa-other"}}}, {},
     [so("other", WEB)], [], "the HPA keda-hpa-other is already managed by ScaledObject ns/other"),
    (WEB, {}, [], [hpa("web-hpa", DEPLOYMENT_WEB)], "already scaled by HorizontalPodAutoscaler ns/web-hpa"),
    (WEB, {}, [], [hpa("web-hpa", DEPLOYMENT_WEB, {"validations.keda.sh/hpa-ownership": "false"})], None),
    (WEB, {}, [], [hpa("keda-hpa-mine", DEPLOYMENT_WEB, owners=[{"kind": "ScaledObject", "name": "mine"}])], None),
    (WEB, {}, [], [hpa("keda-hpa-x", DEPLOYMENT_WEB, owners=[{"kind": "ScaledObject", "name": "x"}])],
     "(owned by ScaledObject x)"),
    ({"scaleTargetRef": {"name": "web"}, "advanced": {"horizontalPodAutoscalerConfig": {"name": "web-hpa"}}},
     {"scaledobject.keda.sh/transfer-hpa-ownership": "true"}, [], [hpa("web-hpa", DEPLOYMENT_WEB)], None),
    (WEB, {"scaledobject.keda.sh/transfer-hpa-ownership": "true"}, [], [hpa("web-hpa", DEPLOYMENT_WEB)],
     "already scaled by HorizontalPodAutoscaler ns/web-hpa"),
]


@pytest.mark.parametrize("spec, annotations, scaled_objects, hpas, expected", CASES)
def test_conflict_names_the_other_object(spec, annotations, scaled_objects, hpas, expected):
    found = conflicts.conflict("ns", "mine", spec, annotations, scaled_objects, hpas)
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected in found


def test_two_scaled_objects_of_one_task_for_one_workload_are_refused():
    with pytest.raises(OptionError, match=r"^items\[1\]\.scale_target: Deployment web \(apps/v1\) in ns is also the "
                                          r"target of ScaledObject ns/a \(items\[0\]\)"):
        conflicts.check_unique_targets([("items[0]", "ns", "a", WEB),
                                        ("items[1]", "ns", "b", {"scaleTargetRef": {"name": "web", "kind": "Deployment"}})])
    conflicts.check_unique_targets([("items[0]", "ns", "a", WEB), ("items[1]", "other", "b", WEB)])
