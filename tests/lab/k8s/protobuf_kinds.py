"""Protobuf request bodies of the built-in kinds kubectl creates with its typed clients.

``kubectl create deployment|role|rolebinding|clusterrole|clusterrolebinding`` send
``application/vnd.kubernetes.protobuf`` (client-go's typed clientsets); kube-apiserver accepts protobuf
for every built-in kind. The messages below are those of k8s.io/api apps/v1, core/v1 and rbac/v1
``generated.proto`` (kubernetes/api@10b39a3, field numbers and names as declared), limited to the
fields those commands and ordinary workloads use; a field outside them is not guessed at: the body
is answered 415 as before, never decoded with a field dropped.

Go's zero values: gogo-protobuf writes every non-pointer field, so an empty string, false or 0 of
a non-pointer field means "not set" (JSON's omitempty) and is left out; pointer fields
(``replicas``, ``automountServiceAccountToken``, ...; ``*`` types in k8s.io/api types.go) keep
their value. Status messages are skipped: the server resets status on create.
"""

from __future__ import annotations

from typing import Any, Callable

from .protobuf import fields, map_entry, object_meta, strings

# Go pointer fields among the messages below (k8s.io/api apps/v1 and core/v1 types.go).
POINTERS = frozenset((
    "replicas", "revisionHistoryLimit", "progressDeadlineSeconds", "terminationGracePeriodSeconds",
    "activeDeadlineSeconds", "automountServiceAccountToken", "priority", "enableServiceLinks",
    "shareProcessNamespace", "hostUsers", "setHostnameAsFQDN", "runtimeClassName", "preemptionPolicy",
    "hostnameOverride", "tolerationSeconds", "runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup",
    "privileged", "readOnlyRootFilesystem", "allowPrivilegeEscalation", "procMount", "apiGroup",
    "supplementalGroupsPolicy", "fsGroupChangePolicy", "timeoutSeconds", "periodSeconds",
    "successThreshold", "failureThreshold", "initialDelaySeconds", "mountPropagation", "recursiveReadOnly",
))

# message -> field number -> (JSON name, type, repeated). Types: string, int, bool, map (string to
# string), quantities (string to Quantity), ignore (skipped), or another message of this table.
MESSAGES: dict[str, dict[int, tuple[Any, ...]]] = {
    "Deployment": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "DeploymentSpec"),
        3: ("status", "ignore"),
    },
    "DeploymentSpec": {
        1: ("replicas", "int"),
        2: ("selector", "LabelSelector"),
        3: ("template", "PodTemplateSpec"),
        4: ("strategy", "DeploymentStrategy"),
        5: ("minReadySeconds", "int"),
        6: ("revisionHistoryLimit", "int"),
        7: ("paused", "bool"),
        9: ("progressDeadlineSeconds", "int"),
    },
    "DeploymentStrategy": {
        1: ("type", "string"),
        2: ("rollingUpdate", "RollingUpdateDeployment"),
    },
    "RollingUpdateDeployment": {
        1: ("maxUnavailable", "IntOrString"),
        2: ("maxSurge", "IntOrString"),
    },
    "PodTemplateSpec": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "PodSpec"),
    },
    "PodSpec": {
        2: ("containers", "Container", True),
        3: ("restartPolicy", "string"),
        4: ("terminationGracePeriodSeconds", "int"),
        5: ("activeDeadlineSeconds", "int"),
        6: ("dnsPolicy", "string"),
        7: ("nodeSelector", "map"),
        8: ("serviceAccountName", "string"),
        9: ("serviceAccount", "string"),
        10: ("nodeName", "string"),
        11: ("hostNetwork", "bool"),
        12: ("hostPID", "bool"),
        13: ("hostIPC", "bool"),
        14: ("securityContext", "PodSecurityContext"),
        15: ("imagePullSecrets", "LocalObjectReference", True),
        16: ("hostname", "string"),
        17: ("subdomain", "string"),
        19: ("schedulerName", "string"),
        20: ("initContainers", "Container", True),
        21: ("automountServiceAccountToken", "bool"),
        22: ("tolerations", "Toleration", True),
        24: ("priorityClassName", "string"),
        25: ("priority", "int"),
        27: ("shareProcessNamespace", "bool"),
        29: ("runtimeClassName", "string"),
        30: ("enableServiceLinks", "bool"),
        31: ("preemptionPolicy", "string"),
        32: ("overhead", "quantities"),
        35: ("setHostnameAsFQDN", "bool"),
        37: ("hostUsers", "bool"),
        40: ("resources", "ResourceRequirements"),
        41: ("hostnameOverride", "string"),
    },
    "Container": {
        1: ("name", "string"),
        2: ("image", "string"),
        3: ("command", "string", True),
        4: ("args", "string", True),
        5: ("workingDir", "string"),
        6: ("ports", "ContainerPort", True),
        7: ("env", "EnvVar", True),
        8: ("resources", "ResourceRequirements"),
        9: ("volumeMounts", "VolumeMount", True),
        10: ("livenessProbe", "Probe"),
        11: ("readinessProbe", "Probe"),
        13: ("terminationMessagePath", "string"),
        14: ("imagePullPolicy", "string"),
        15: ("securityContext", "SecurityContext"),
        16: ("stdin", "bool"),
        17: ("stdinOnce", "bool"),
        18: ("tty", "bool"),
        20: ("terminationMessagePolicy", "string"),
        22: ("startupProbe", "Probe"),
        24: ("restartPolicy", "string"),
    },
    "ContainerPort": {
        1: ("name", "string"),
        2: ("hostPort", "int"),
        3: ("containerPort", "int"),
        4: ("protocol", "string"),
        5: ("hostIP", "string"),
    },
    "EnvVar": {
        1: ("name", "string"),
        2: ("value", "string"),
    },
    "ResourceRequirements": {
        1: ("limits", "quantities"),
        2: ("requests", "quantities"),
    },
    "Toleration": {
        1: ("key", "string"),
        2: ("operator", "string"),
        3: ("value", "string"),
        4: ("effect", "string"),
        5: ("tolerationSeconds", "int"),
    },
    "LocalObjectReference": {
        1: ("name", "string"),
    },
    "PodSecurityContext": {
        2: ("runAsUser", "int"),
        3: ("runAsNonRoot", "bool"),
        4: ("supplementalGroups", "int", True),
        5: ("fsGroup", "int"),
        6: ("runAsGroup", "int"),
        9: ("fsGroupChangePolicy", "string"),
        12: ("supplementalGroupsPolicy", "string"),
        13: ("seLinuxChangePolicy", "string"),
    },
    "SecurityContext": {
        1: ("capabilities", "Capabilities"),
        2: ("privileged", "bool"),
        4: ("runAsUser", "int"),
        5: ("runAsNonRoot", "bool"),
        6: ("readOnlyRootFilesystem", "bool"),
        7: ("allowPrivilegeEscalation", "bool"),
        8: ("runAsGroup", "int"),
        9: ("procMount", "string"),
    },
    "Capabilities": {
        1: ("add", "string", True),
        2: ("drop", "string", True),
    },
    "VolumeMount": {
        1: ("name", "string"),
        2: ("readOnly", "bool"),
        3: ("mountPath", "string"),
        4: ("subPath", "string"),
        5: ("mountPropagation", "string"),
        6: ("subPathExpr", "string"),
        7: ("recursiveReadOnly", "string"),
        8: ("bindMountOptions", "string", True),
    },
    "Probe": {
        1: ("handler", "ProbeHandler"),
        2: ("initialDelaySeconds", "int"),
        3: ("timeoutSeconds", "int"),
        4: ("periodSeconds", "int"),
        5: ("successThreshold", "int"),
        6: ("failureThreshold", "int"),
        7: ("terminationGracePeriodSeconds", "int"),
    },
    "ProbeHandler": {
        1: ("exec", "ExecAction"),
        2: ("httpGet", "HTTPGetAction"),
        3: ("tcpSocket", "TCPSocketAction"),
    },
    "HTTPGetAction": {
        1: ("path", "string"),
        2: ("port", "IntOrString"),
        3: ("host", "string"),
        4: ("scheme", "string"),
        5: ("httpHeaders", "HTTPHeader", True),
        6: ("protocol", "string"),
    },
    "TCPSocketAction": {
        1: ("port", "IntOrString"),
        2: ("host", "string"),
    },
    "ExecAction": {
        1: ("command", "string", True),
    },
    "HTTPHeader": {
        1: ("name", "string"),
        2: ("value", "string"),
    },
    "Role": {
        1: ("metadata", "ObjectMeta"),
        2: ("rules", "PolicyRule", True),
    },
    "RoleBinding": {
        1: ("metadata", "ObjectMeta"),
        2: ("subjects", "Subject", True),
        3: ("roleRef", "RoleRef"),
    },
    "ClusterRole": {
        1: ("metadata", "ObjectMeta"),
        2: ("rules", "PolicyRule", True),
    },
    "ClusterRoleBinding": {
        1: ("metadata", "ObjectMeta"),
        2: ("subjects", "Subject", True),
        3: ("roleRef", "RoleRef"),
    },
    "PolicyRule": {
        1: ("verbs", "string", True),
        2: ("apiGroups", "string", True),
        3: ("resources", "string", True),
        4: ("resourceNames", "string", True),
        5: ("nonResourceURLs", "string", True),
    },
    "Subject": {
        1: ("kind", "string"),
        2: ("apiGroup", "string"),
        3: ("name", "string"),
        4: ("namespace", "string"),
    },
    "RoleRef": {
        1: ("apiGroup", "string"),
        2: ("kind", "string"),
        3: ("name", "string"),
    },
}


def _value(kind: str, raw: Any) -> Any:
    if kind == "string":
        return raw.decode("utf-8")
    if kind == "int":
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if kind == "bool":
        return bool(raw)
    if kind == "ObjectMeta":
        return object_meta(raw)
    if kind == "LabelSelector":
        selector: dict[str, Any] = {}
        for number, item in fields(raw):
            if number == 1:
                key, val = map_entry(item)
                selector.setdefault("matchLabels", {})[key] = val.decode("utf-8")
            elif number == 2:
                requirement: dict[str, Any] = strings(item, {1: "key", 2: "operator"})
                for sub, part in fields(item):
                    if sub == 3:
                        requirement.setdefault("values", []).append(part.decode("utf-8"))
                selector.setdefault("matchExpressions", []).append(requirement)
            else:
                raise KeyError(f"LabelSelector field {number}")
        return selector
    if kind == "IntOrString":
        # k8s.io/apimachinery/pkg/util/intstr: type=1 (0 int, 1 string), intVal=2, strVal=3.
        parts = dict(fields(raw))
        return parts.get(2, 0) if parts.get(1, 0) == 0 else parts.get(3, b"").decode("utf-8")
    return message(kind, raw)


def message(name: str, raw: bytes) -> dict[str, Any]:
    """One message of MESSAGES as its JSON object; KeyError for a field not in the table."""
    table = MESSAGES[name]
    obj: dict[str, Any] = {}
    for number, raw_value in fields(raw):
        if number not in table:
            raise KeyError(f"{name} field {number}")
        field, kind, *repeated = table[number]
        if kind == "ignore":
            continue
        if kind in ("map", "quantities"):
            key, val = map_entry(raw_value)
            if kind == "quantities":
                val = next((v for n, v in fields(val) if n == 1), b"")  # resource.Quantity: string=1
            obj.setdefault(field, {})[key] = val.decode("utf-8")
            continue
        value = _value(kind, raw_value)
        if repeated:
            obj.setdefault(field, []).append(value)
        elif field in POINTERS or value not in ("", False, 0) or isinstance(value, dict):
            obj[field] = value
    return obj


def _top(name: str) -> Callable[[bytes], dict[str, Any]]:
    return lambda raw: message(name, raw)


DECODERS: dict[tuple[str, str], Callable[[bytes], dict[str, Any]]] = {
    ("apps/v1", "Deployment"): _top("Deployment"),
    **{("rbac.authorization.k8s.io/v1", kind): _top(kind)
       for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")},
}
