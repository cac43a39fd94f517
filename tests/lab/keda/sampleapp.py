"""Pods running ``ghcr.io/azure-samples/aks-app-samples/servicebusdemo``: the seed's producer and consumer.

Known from MicrosoftDocs/azure-aks-docs ``articles/aks/keda-workload-identity.md`` (reference/keda-behaviour.md §8):
env ``OPERATION_MODE`` (``producer`` | ``consumer``), ``MESSAGE_COUNT``, ``AZURE_SERVICEBUS_QUEUE_NAME``,
``AZURE_SERVICEBUS_HOSTNAME``; the pod authenticates with its own injected workload identity; the
producer publishes ``MESSAGE_COUNT`` messages and completes; a consumer receives ``MESSAGE_COUNT``.
The sample's source is not public in the material we have, so its log lines and exit codes here
are the lab's own: one line per step, the azidentity / Service Bus error text on failure, exit 1.
A consumer that finds the queue empty before ``MESSAGE_COUNT`` stops and completes (time-bounded).
"""

from __future__ import annotations

from typing import Any

from ..k8s.controllers import Controllers
from . import azure
from .controller import signing_issuer

IMAGE = "aks-app-samples/servicebusdemo"
ACTOR = "servicebusdemo"  # how its calls are tagged in the lab's request log
KUBELET = "kubelet"


def is_sample(pod: dict[str, Any]) -> bool:
    return any(IMAGE in (c.get("image") or "") for c in (pod.get("spec") or {}).get("containers") or [])


class SampleApp:
    def __init__(self, lab: Any):
        self.lab = lab
        self.done: set[str] = set()

    @property
    def k8s(self) -> Any:
        return self.lab.services["k8s"]

    def reset(self) -> None:
        self.done.clear()

    def tick(self) -> None:
        rt = self.k8s.api.registry.by_kind("v1", "Pod")
        for pod in self.k8s.api.list(rt, None)[0]:
            uid = pod["metadata"]["uid"]
            if uid in self.done or not is_sample(pod) or (pod.get("status") or {}).get("phase") != "Running":
                continue
            self.done.add(uid)
            self.run(pod)

    def _log(self, pod: dict[str, Any], text: str) -> None:
        self.k8s.append_log(pod["metadata"]["namespace"], pod["metadata"]["name"], text)

    def run(self, pod: dict[str, Any]) -> None:
        container = next(c for c in pod["spec"]["containers"] if IMAGE in (c.get("image") or ""))
        env = {e.get("name"): e.get("value", "") for e in container.get("env") or [] if "value" in e}
        mode = (env.get("OPERATION_MODE") or "").lower()
        try:
            count = int(env.get("MESSAGE_COUNT") or "0")
        except ValueError:
            count = 0
        queue, host = env.get("AZURE_SERVICEBUS_QUEUE_NAME", ""), env.get("AZURE_SERVICEBUS_HOSTNAME", "")
        try:
            if mode not in ("producer", "consumer") or not queue or not host:
                raise azure.ScalerError("OPERATION_MODE (producer|consumer), AZURE_SERVICEBUS_QUEUE_NAME and "
                                        "AZURE_SERVICEBUS_HOSTNAME are required")
            token = self._token(pod, env)
            base = f"https://{host}/{queue}"
            if mode == "producer":
                for index in range(count):
                    self._call(pod, "POST", f"{base}/messages", token, f"Message {index + 1}".encode(), 201)
                self._log(pod, f"Sent {count} messages to {queue}")
            else:
                received = 0
                for _index in range(count):
                    answer = self._call(pod, "DELETE", f"{base}/messages/head?timeout=1", token, None, (200, 204))
                    if answer.status == 204:
                        self._log(pod, "No more messages in the queue")
                        break
                    received += 1
                    self._log(pod, f"Received: {answer.text()}")
                self._log(pod, f"Received {received} messages from {queue}")
        except (azure.ScalerError, azure.NetError) as exc:
            self._log(pod, f"Error: {exc}")
            self._finish(pod, False)
            return
        self._finish(pod, True)

    def _token(self, pod: dict[str, Any], env: dict[str, str]) -> str:
        credential, problem = azure.credential_from_env(env, None, None)
        if credential is None:
            raise azure.ScalerError(f"DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\t"
                                    f"WorkloadIdentityCredential: {problem}")
        account = self.k8s.get_object("v1", "ServiceAccount", pod["metadata"]["namespace"], pod["spec"].get("serviceAccountName") or "default")
        if account is None:
            raise azure.ScalerError(f"open {credential.token_file}: no such file or directory")
        assertion, _exp = self.k8s.issuer.issue(
            signing_issuer(self.k8s), account["metadata"]["namespace"], account["metadata"]["name"], account["metadata"]["uid"],
            [azure.EXCHANGE_AUDIENCE], 3600, {"kind": "Pod", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]})
        return azure.get_token(self.lab, credential, assertion, azure.SERVICEBUS_SCOPE, actor=ACTOR)

    def _call(self, pod: dict[str, Any], method: str, url: str, token: str, body: bytes | None, ok: Any) -> azure.HttpAnswer:
        answer = azure.request(self.lab, method, url, {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}, body,
                               actor=ACTOR)
        expected = ok if isinstance(ok, tuple) else (ok,)
        if answer.status not in expected:
            raise azure.ScalerError(azure.response_error(method, url, answer))
        return answer

    def _finish(self, pod: dict[str, Any], succeeded: bool) -> None:
        def mutate(obj: dict[str, Any]) -> None:
            Controllers._finish(obj)  # pylint: disable=protected-access
            if not succeeded:
                obj["status"]["phase"] = "Failed"
                for container in obj["status"].get("containerStatuses") or []:
                    container["state"]["terminated"].update({"exitCode": 1, "reason": "Error"})
        rt = self.k8s.api.registry.by_kind("v1", "Pod")
        self.k8s.api.system_write(rt, pod["metadata"]["namespace"], pod["metadata"]["name"], mutate, KUBELET)
