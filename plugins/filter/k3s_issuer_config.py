# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The K3s configuration with the API server told to sign service account tokens with an Azure Arc issuer
(the k3s_issuer role's rewrite of ``kube-apiserver-arg``)."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

ARGS_KEY = "kube-apiserver-arg"
ISSUER = "service-account-issuer"
MAX_TOKEN_EXPIRATION = "service-account-max-token-expiration"
# K3s's own issuer when its configuration names none: "https://kubernetes.default.svc." + the cluster domain
# (k3s-io/k3s pkg/daemons/control/server.go, apiServer args).
K3S_DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"


def _split(arg: str) -> tuple[str, str, str]:
    """An ``*-arg`` entry as K3s reads it (k3s-io/k3s pkg/util/args.go GetArgs): a leading ``--`` is
    dropped, ``name=value`` (no ``=``: the value ``true``), and a trailing ``+`` or ``-`` on the name appends
    the value to or prepends it before K3s's own default. Returns (name, mode, value), mode '', '+' or '-'."""
    name, _equals, value = arg.removeprefix("--").partition("=")
    cleaned = name.rstrip("-+")
    return cleaned, name[len(cleaned):][-1:], value if "=" in arg else "true"


def _configured_issuers(args: list[str], default_issuer: str) -> list[str]:
    """The issuers K3s passes to kube-apiserver for these entries, in its order (GetArgs): a plain entry
    replaces K3s's default, ``+=`` appends after it, ``-=`` puts itself before it; no entry keeps the default."""
    issuers: list[str] = []
    default: list[str] = [default_issuer]
    for name, mode, value in map(_split, args):
        if name != ISSUER:
            continue
        if mode == "+":
            issuers = default + issuers + [value]
        elif mode == "-":
            issuers = [value] + default + issuers
        else:
            issuers = issuers + [value]
        default = []  # K3s deletes its default once an entry names the argument
    return issuers or [default_issuer]


def k3s_issuer_config(config: dict[str, Any] | None, issuer: str, max_token_expiration: str = "24h",
                      keep_previous: bool = True, default_previous: str = K3S_DEFAULT_ISSUER) -> dict[str, Any]:
    """``config`` (the parsed file; None for a missing or empty one) with ``kube-apiserver-arg`` holding its
    other entries as they were, then ``service-account-issuer=<issuer>`` (kube-apiserver signs with the first
    one and accepts all, kubernetes/kubernetes#101155), the issuers K3s used before (``keep_previous``), and
    ``service-account-max-token-expiration``. Every other key is returned as it was."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise AnsibleFilterError(f"k3s_issuer_config: the K3s configuration must be a mapping, got {type(config).__name__}")
    if not isinstance(issuer, str) or not issuer:
        raise AnsibleFilterError(f"k3s_issuer_config: the issuer must be a non-empty string, got {issuer!r}")
    current = config.get(ARGS_KEY)
    args = [current] if isinstance(current, str) else current or []  # K3s takes a string or a list
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise AnsibleFilterError(f"k3s_issuer_config: {ARGS_KEY} must be a string or a list of strings, got {current!r}")
    previous: list[str] = []
    if keep_previous:
        for known in _configured_issuers(args, default_previous):
            if known != issuer and known not in previous:
                previous.append(known)
    kept = [arg for arg in args if _split(arg)[0] not in (ISSUER, MAX_TOKEN_EXPIRATION)]
    rewritten = (kept + [f"{ISSUER}={issuer}"] + [f"{ISSUER}={known}" for known in previous]
                 + [f"{MAX_TOKEN_EXPIRATION}={max_token_expiration}"])
    return {**config, ARGS_KEY: rewritten}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"k3s_issuer_config": k3s_issuer_config}
