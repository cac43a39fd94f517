"""Contract: what unchanged kubectl sends beyond CRUD - ``auth can-i`` (SelfSubjectAccessReview),
``auth whoami`` (SelfSubjectReview), ``create deployment`` (protobuf bodies) - answered as a real
API server answers it."""

from __future__ import annotations

import json


def test_auth_whoami_names_the_admin(tools):
    out = tools.kubectl("auth", "whoami").stdout.splitlines()
    assert out[0].split() == ["ATTRIBUTE", "VALUE"]
    assert out[1].split() == ["Username", "kubernetes-admin"]
    assert out[2].split() == ["Groups", "[system:masters", "system:authenticated]"]
    review = json.loads(tools.kubectl("auth", "whoami", "-o", "json").stdout)
    assert review["kind"] == "SelfSubjectReview" and review["status"]["userInfo"]["username"] == "kubernetes-admin"


def test_auth_can_i_follows_rbac_for_a_service_account(tools, ns):
    assert tools.kubectl("auth", "can-i", "create", "deployments", "-n", ns).stdout.strip() == "yes"
    tools.kubectl("create", "serviceaccount", "reader", "-n", ns)
    tools.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", ns)
    tools.kubectl("create", "rolebinding", "reader-pods", "--role=pod-reader", f"--serviceaccount={ns}:reader", "-n", ns)
    token = tools.kubectl("create", "token", "reader", "-n", ns).stdout.strip()
    as_reader = ("--token", token)
    allowed = tools.kubectl(*as_reader, "auth", "can-i", "list", "pods", "-n", ns)
    assert allowed.stdout.strip() == "yes"
    denied = tools.kubectl(*as_reader, "auth", "can-i", "delete", "pods", "-n", ns, check=False)
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    elsewhere = tools.kubectl(*as_reader, "auth", "can-i", "get", "pods", "-n", "default", check=False)
    assert (elsewhere.returncode, elsewhere.stdout.strip()) == (1, "no")
    # The reason names the binding, as RBAC words it (--list is not asked, so read the review itself).
    review = tools.kubectl(*as_reader, "create", "--validate=false", "-o", "json", "-f", "-", stdin=json.dumps({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": ns, "verb": "get", "resource": "pods"}}})).stdout
    assert json.loads(review)["status"] == {
        "allowed": True,
        "reason": f'RBAC: allowed by RoleBinding "{ns}/reader-pods" of Role "pod-reader" to ServiceAccount "reader/{ns}"'}


def test_kubectl_create_deployment_sends_protobuf_and_the_server_decodes_it(tools, ns):
    out = tools.kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "--port=8080", "-n", ns)
    assert out.stdout.strip() == "deployment.apps/web created"
    deployment = tools.kubectl_json("get", "deployment", "web", "-n", ns)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"], container["ports"]) == (
        "nginx", "nginx:1.27", [{"containerPort": 8080, "protocol": "TCP"}])
    # The server's defaults apply as for a JSON body.
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    tools.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s")
    # A zero that is a pointer field stays a zero.
    tools.kubectl("create", "deployment", "idle", "--image=nginx:1.27", "--replicas=0", "-n", ns)
    assert tools.kubectl_json("get", "deployment", "idle", "-n", ns)["spec"]["replicas"] == 0


def test_server_side_apply_returns_managed_fields(tools, ns):
    config = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "settings", "namespace": ns, "labels": {"team": "a"}},
              "data": {"mode": "fast"}}
    tools.kubectl("apply", "--server-side", "--field-manager=deployer", "-f", "-", stdin=json.dumps(config))
    tools.kubectl("label", "configmap", "settings", "-n", ns, "extra=yes")
    live = tools.kubectl_json("get", "configmap", "settings", "-n", ns, "--show-managed-fields")
    entries = {(m["manager"], m["operation"]): m for m in live["metadata"]["managedFields"]}
    assert set(entries) == {("deployer", "Apply"), ("kubectl-label", "Update")}
    applied = entries[("deployer", "Apply")]
    assert (applied["apiVersion"], applied["fieldsType"]) == ("v1", "FieldsV1")
    # An Apply owns the leaves it sent (maps are not members themselves; list items would carry ".").
    assert applied["fieldsV1"] == {"f:data": {"f:mode": {}}, "f:metadata": {"f:labels": {"f:team": {}}}}
    assert entries[("kubectl-label", "Update")]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:extra": {}}}}
    # Apply entries sort before Update entries; kubectl hides them unless asked.
    assert [m["operation"] for m in live["metadata"]["managedFields"]] == ["Apply", "Update"]
    assert "managedFields" not in tools.kubectl_json("get", "configmap", "settings", "-n", ns)["metadata"]


def test_scheduler_leaves_an_unschedulable_pod_pending_and_writes_lifecycle_events(tools, ns):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nowhere", "namespace": ns},
           "spec": {"nodeSelector": {"agentpool": "gpu"}, "containers": [{"name": "app", "image": "nginx:1.27"}]}}
    tools.kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    placed = dict(pod, metadata={"name": "somewhere", "namespace": ns},
                  spec={"nodeSelector": {"kubernetes.io/os": "linux"},
                        "containers": [{"name": "app", "image": "nginx:1.27", "imagePullPolicy": "Always"}]})
    tools.kubectl("apply", "-f", "-", stdin=json.dumps(placed))
    tools.kubectl("wait", "pod/somewhere", "-n", ns, "--for=condition=Ready", "--timeout=30s")

    stuck = tools.kubectl_json("get", "pod", "nowhere", "-n", ns)
    assert stuck["status"]["phase"] == "Pending" and "nodeName" not in stuck["spec"]
    message = ("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes "
               "are available: 1 Preemption is not helpful for scheduling.")
    scheduled = next(c for c in stuck["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (scheduled["status"], scheduled["reason"], scheduled["message"]) == ("False", "Unschedulable", message)

    events = tools.kubectl_json("get", "events", "-n", ns)["items"]
    by_pod: dict[str, list] = {}
    for event in sorted(events, key=lambda e: e["metadata"]["name"]):
        by_pod.setdefault(event["involvedObject"]["name"], []).append(event)
    assert [(e["type"], e["reason"], e["message"], e["reportingComponent"]) for e in by_pod["nowhere"]] == [
        ("Warning", "FailedScheduling", message, "default-scheduler")]
    assert [(e["reason"], e["message"]) for e in by_pod["somewhere"]] == [
        ("Scheduled", f"Successfully assigned {ns}/somewhere to lab-node"),
        ("Pulling", 'Pulling image "nginx:1.27"'),
        ("Pulled", 'Successfully pulled image "nginx:1.27" in 0s (0s including waiting). Image size: 0 bytes.'),
        ("Created", "Created container: app"), ("Started", "Started container app")]
    assert by_pod["somewhere"][1]["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert by_pod["somewhere"][1]["source"] == {"component": "kubelet", "host": "lab-node"}
    described = tools.kubectl("describe", "pod", "nowhere", "-n", ns).stdout
    assert "FailedScheduling" in described and "default-scheduler" in described
