"""Replay Microsoft's recorded Azure traffic (../shared/reference/recordings) against the lab and diff the answers.

A cassette is a real request sequence with real Azure's answers. Each request is sent to the lab's ARM as
the automation principal, with the recording's subscription, generated ids and async-operation URLs mapped
to the lab's, and the lab's answer is compared with the recorded one on what clients act on:

- the status code;
- the presence of ``Location``, ``Azure-AsyncOperation`` and ``Retry-After``;
- the body's key set, deep (lists as ``[]``), after dropping what the projects sanitised away;
- the error code (wrapped ``{"error": {"code"}}`` or unwrapped ``{"code"}``).

Interactions with services the lab does not emulate at all (another host, or a provider namespace with no
emulation) are skipped and counted. Repeated polls of one operation are "collapsed" when the lab has already
finished and the recording had not: poll counts are not timing evidence (recordings README).

Test tooling: the lab itself never imports this module.
"""

from __future__ import annotations

import glob
import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import yaml

from .. import ids
from . import clients

RECORDINGS_ENV = "LAB_RECORDINGS_DIR"
ARM_HOST = "management.azure.com"
# Provider namespaces (lower case) the lab routes to an emulation of its own; anything else under ARM is
# another service the lab does not emulate at all.
EMULATED_NAMESPACES = frozenset({
    "microsoft.resources", "microsoft.managedidentity", "microsoft.authorization", "microsoft.containerservice",
    "microsoft.kubernetes", "microsoft.servicebus", "microsoft.monitor",
})
ACTED_ON_HEADERS = ("location", "azure-asyncoperation", "retry-after")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}


def recordings_dir() -> str:
    """The shared recordings folder: $LAB_RECORDINGS_DIR, else the first ``shared/reference/recordings`` above the tests."""
    configured = os.environ.get(RECORDINGS_ENV)
    if configured:
        return configured
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        candidate = os.path.join(here, "shared", "reference", "recordings")
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            raise FileNotFoundError("shared/reference/recordings not found above the tests; set " + RECORDINGS_ENV)
        here = parent


def cassettes() -> list[str]:
    """Cassette names relative to the recordings folder (``azure-cli/test_x.yaml``), sorted."""
    root = recordings_dir()
    return sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "*", "*.yaml")))


@dataclass
class Interaction:
    index: int
    method: str
    url: str
    body: str
    status: int
    headers: dict[str, str]
    response: str

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or ""

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path


def load(name: str) -> list[Interaction]:
    """The interactions of a vcrpy (azure-cli) or go-vcr v1/v2 (ASO) cassette, in file order."""
    with open(os.path.join(recordings_dir(), name), encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    found = []
    for index, item in enumerate(document["interactions"]):
        request, response = item["request"], item["response"]
        url = request.get("uri") or request.get("url")
        status = response.get("code") or response["status"]["code"]
        body = response.get("body")
        if isinstance(body, dict):
            body = body.get("string")
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        headers = {k.lower(): (v[0] if isinstance(v, list) and v else str(v)) for k, v in (response.get("headers") or {}).items()}
        sent = request.get("body") or ""
        if isinstance(sent, bytes):
            sent = sent.decode("utf-8", "replace")
        found.append(Interaction(index, request["method"].upper(), url, sent, int(status), headers, body or ""))
    return found


def namespace_of(path: str) -> str:
    segments = [s for s in path.split("/") if s]
    last = max((i for i, s in enumerate(segments) if s.lower() == "providers"), default=None)
    if last is None or last + 1 >= len(segments):
        return "microsoft.resources"
    return segments[last + 1].lower()


def not_emulated(interaction: Interaction) -> str | None:
    """Why the lab cannot answer this interaction at all, or None when it emulates the service."""
    if interaction.host != ARM_HOST:
        return f"host {interaction.host} (not ARM)"
    namespace = namespace_of(interaction.path)
    if namespace not in EMULATED_NAMESPACES:
        return f"provider {namespace}"
    return None


# -- comparison ------------------------------------------------------------------------------------


def parse(text: str) -> Any:
    if not text or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value: ``properties.oidcIssuerProfile.issuerURL``, ``value[].id``."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            found.add(path)
            found |= key_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            found |= key_paths(item, prefix + "[]")
    return found


def error_code(value: Any) -> str | None:
    if isinstance(value, dict):
        error = value.get("error")
        nested = error.get("code") if isinstance(error, dict) else None
        if isinstance(nested, str):
            return nested
        code = value.get("code")
        if isinstance(code, str) and "message" in value:
            return code
    return None


def poll_status(value: Any) -> str | None:
    status = value.get("status") if isinstance(value, dict) else None
    return status.lower() if isinstance(status, str) else None


@dataclass
class Difference:
    """One way the lab's answer differs from the recording: ``kind`` and what exactly."""

    kind: str  # status | header | key-missing | key-extra | error-code
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.detail}"


def compare(recorded: Interaction, status: int, headers: dict[str, str], body: Any) -> list[Difference]:
    differences: list[Difference] = []
    if status != recorded.status:
        detail = error_code(body) or ""
        differences.append(Difference("status", f"{recorded.status}->{status}" + (f" {detail}" if detail else "")))
        return differences  # a different outcome: its headers and body are not comparable
    for name in ACTED_ON_HEADERS:
        if (name in recorded.headers) != (name in headers):
            differences.append(Difference("header", f"{name} {'missing' if name in recorded.headers else 'extra'}"))
    expected = parse(recorded.response)
    wanted, got = error_code(expected), error_code(body)
    if wanted != got:
        differences.append(Difference("error-code", f"{wanted}->{got}"))
    if isinstance(expected, (dict, list)) or isinstance(body, (dict, list)):
        recorded_keys, lab_keys = key_paths(expected), key_paths(body)
        differences += [Difference("key-missing", k) for k in sorted(recorded_keys - lab_keys)]
        differences += [Difference("key-extra", k) for k in sorted(lab_keys - recorded_keys)]
    elif (expected in (None, "")) != (body in (None, "")):
        differences.append(Difference("body", "empty" if expected in (None, "") else "present"))
    return differences


# -- replay ----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    index: int
    method: str
    path: str
    state: str  # matching | differing | collapsed | skipped
    differences: list[Difference] = field(default_factory=list)
    reason: str = ""
    # Why this request could not mean the same to the lab: "orphan-poll" (polls an operation whose start the
    # lab answered without that header), "uses-skipped" (names something a skipped interaction created).
    tags: list[str] = field(default_factory=list)


@dataclass
class Replay:
    """Replays one cassette; ``outcomes`` holds one entry per interaction."""

    env: dict[str, str]
    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    orphans: set[str] = field(default_factory=set)
    skipped_things: set[str] = field(default_factory=set)

    def run(self) -> Replay:
        interactions = load(self.name)
        token = clients.arm_token(self.env)
        self._learn_subscription(interactions)
        self._prepare_groups(interactions, token)
        for interaction in interactions:
            self.outcomes.append(self._one(interaction, token))
        return self

    def _learn_subscription(self, interactions: list[Interaction]) -> None:
        for interaction in interactions:
            found = re.search(r"/subscriptions/([0-9a-fA-F-]{36})", interaction.url)
            if found:
                self.mapping[found.group(1)] = ids.SUBSCRIPTION_ID
                return

    def _prepare_groups(self, interactions: list[Interaction], token: str) -> None:
        """Resource groups the recording used without creating them (the test framework's preparers did,
        outside the cassette) are created first as the recording shows them (its first GET of the group),
        else in the location the recording's first body names."""
        created: set[str] = set()
        location = "eastus"
        for interaction in interactions:
            body = parse(interaction.body)
            if isinstance(body, dict) and isinstance(body.get("location"), str):
                location = body["location"]
                break
        shown: dict[str, dict[str, Any]] = {}
        for interaction in interactions:
            answer = parse(interaction.response)
            if interaction.method == "GET" and isinstance(answer, dict) and "/resourcegroups/" in str(answer.get("id", "")).lower() \
                    and str(answer.get("type", "")).lower() == "microsoft.resources/resourcegroups":
                shown.setdefault(str(answer.get("name", "")).lower(), answer)
        for interaction in interactions:
            found = re.search(r"/subscriptions/[^/]+/resourcegroups/([^/?]+)", interaction.url, re.IGNORECASE)
            if not found or interaction.host != ARM_HOST:
                continue
            group = urllib.parse.unquote(found.group(1))
            if group.lower() in created:
                continue
            created.add(group.lower())
            is_group_put = interaction.method == "PUT" and interaction.path.rstrip("/").lower().endswith(
                "/resourcegroups/" + group.lower())
            if not is_group_put:
                seen = shown.get(group.lower(), {})
                wanted = {"location": seen.get("location", location)}
                if seen.get("tags"):
                    wanted["tags"] = seen["tags"]
                clients.arm(self.env, "PUT", clients.group_path(group), wanted, "2022-09-01", token=token)

    def _map_text(self, text: str) -> str:
        for recorded, lab in self.mapping.items():
            if recorded in text:
                text = text.replace(recorded, lab)
        return text

    def _lab_url(self, interaction: Interaction) -> str:
        """The lab URL for a recorded one: the lab's own operation URL for a poll, else the same path; either
        way with the recording's query, so the recording's api-version is the one served."""
        parts = urllib.parse.urlsplit(interaction.url)
        query = "?" + self._map_text(parts.query) if parts.query else ""
        mapped = self.urls.get(interaction.path.lower())
        if mapped:
            return urllib.parse.urlsplit(mapped)._replace(query="").geturl() + query
        return self.env["AZURE_CLOUD_ENVIRONMENT"] + self._map_text(parts.path) + query

    def _one(self, interaction: Interaction, token: str) -> Outcome:
        outcome = Outcome(interaction.index, interaction.method, interaction.path, "matching")
        reason = not_emulated(interaction)
        if reason:
            outcome.state, outcome.reason = "skipped", reason
            self._remember_skipped(interaction)
            return outcome
        if interaction.path.lower() in self.orphans:
            outcome.tags.append("orphan-poll")
        text = interaction.url + interaction.body
        if any(thing in text or thing.lower() in text.lower() for thing in self.skipped_things):
            outcome.tags.append("uses-skipped")
        url = self._lab_url(interaction)
        is_poll = interaction.path.lower() in self.urls
        body = self._map_text(interaction.body).encode() if interaction.body else None
        headers = {"Authorization": "Bearer " + token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        answer = clients.http(self.env, interaction.method, url, body, headers)
        lab_headers = {k.lower(): v for k, v in answer.headers.items()}
        lab_body = parse(answer.body.decode("utf-8", "replace"))
        recorded_body = parse(interaction.response)
        still_running = poll_status(recorded_body) not in TERMINAL | {None} or interaction.status == 202
        lab_done = poll_status(lab_body) in TERMINAL or (answer.status in (200, 204) and poll_status(lab_body) is None)
        if is_poll and still_running and lab_done:
            outcome.state = "collapsed"  # the lab had finished; the recording's final poll is compared
            return outcome
        self._learn(interaction, recorded_body, lab_headers, lab_body)
        outcome.differences = compare(interaction, answer.status, lab_headers, lab_body)
        if outcome.differences:
            outcome.state = "differing"
        return outcome

    def _remember_skipped(self, interaction: Interaction) -> None:
        """What a skipped interaction created (its path, the ids in its answer) cannot exist in the lab."""
        if interaction.method in ("PUT", "POST") and interaction.host == ARM_HOST:
            self.skipped_things.add(interaction.path.rstrip("/"))
        answer = parse(interaction.response)
        if interaction.method == "POST" and isinstance(answer, dict) and isinstance(answer.get("id"), str) and GUID.fullmatch(answer["id"]):
            self.skipped_things.add(answer["id"])  # a directory object (Graph POST)

    def _learn(self, interaction: Interaction, recorded: Any, headers: dict[str, str], body: Any) -> None:
        """Map what Azure generated (operation URLs, GUIDs) to what the lab generated in the same place."""
        for name in ("azure-asyncoperation", "location"):
            if name not in interaction.headers:
                continue
            recorded_path = urllib.parse.urlsplit(interaction.headers[name]).path.lower()
            if recorded_path.rstrip("/") == interaction.path.lower().rstrip("/"):
                continue  # a Location naming the resource itself
            if name in headers:
                self.urls[recorded_path] = urllib.parse.urljoin(self.env["AZURE_CLOUD_ENVIRONMENT"] + "/", headers[name])
            else:
                self.orphans.add(recorded_path)
        self._pair(recorded, body)

    def _pair(self, recorded: Any, lab: Any) -> None:
        if isinstance(recorded, dict) and isinstance(lab, dict):
            for key, value in recorded.items():
                if key in lab:
                    self._pair(value, lab[key])
        elif isinstance(recorded, list) and isinstance(lab, list) and len(recorded) == len(lab):
            for left, right in zip(recorded, lab):
                self._pair(left, right)
        elif isinstance(recorded, str) and isinstance(lab, str) and recorded != lab:
            if GUID.fullmatch(recorded) and GUID.fullmatch(lab) and recorded not in self.mapping:
                self.mapping[recorded] = lab
                self.mapping[recorded.replace("-", "")] = lab.replace("-", "")
