# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Auth for the Kubernetes modules: kubernetes.core's option names, one transport.

Resolution order: module options, then ``K8S_AUTH_*`` variables, then ``KUBECONFIG`` (or
``~/.kube/config``), then the in-cluster service account. The ``kubernetes`` package supplies
the kubeconfig loader and a configured urllib3 pool; its typed API classes are never touched
(kubernetes 37 builds ``CoreV1Api`` lazily at ~0.6 s, more than a whole no-op run here).
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from typing import Any, Mapping

from ansible_collections.kedaops.aks.plugins.module_utils._errors import ConfigError, OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import K8sError

# kubernetes.core's names and aliases, so `module_defaults` written for k8s work here too.
AUTH_ARGSPEC: dict[str, dict[str, Any]] = {
    "kubeconfig": {"type": "raw", "no_log": True},
    "context": {"type": "str"},
    "host": {"type": "str"},
    "api_key": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"]},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"]},
    "client_cert": {"type": "path", "aliases": ["cert_file"]},
    "client_key": {"type": "path", "aliases": ["key_file"], "no_log": False},
}

AUTH_ENV = {
    "kubeconfig": "K8S_AUTH_KUBECONFIG",
    "context": "K8S_AUTH_CONTEXT",
    "host": "K8S_AUTH_HOST",
    "api_key": "K8S_AUTH_API_KEY",
    "validate_certs": "K8S_AUTH_VERIFY_SSL",
    "ca_cert": "K8S_AUTH_SSL_CA_CERT",
    "client_cert": "K8S_AUTH_CERT_FILE",
    "client_key": "K8S_AUTH_KEY_FILE",
}

IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
USER_AGENT = "kedaops.aks"
# (connect, read) seconds; a read of a single object never takes long on a healthy server.
TIMEOUT = (10.0, 60.0)


def auth_settings(params: dict[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The auth values in force: an option wins over its ``K8S_AUTH_*`` variable."""
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    for option, variable in AUTH_ENV.items():
        value = params.get(option)
        if value is None and environ.get(variable) not in (None, ""):
            value = environ[variable]
            if option == "validate_certs":
                value = value.strip().lower() not in ("0", "false", "no", "off")
            elif option in ("ca_cert", "client_cert", "client_key"):
                value = os.path.expanduser(value)
        if value is not None:
            settings[option] = value
    return settings


# The API server's URL: a scheme, a host (and port) and at most a path prefix without white space or dot
# segments -- what kubectl's --server takes (https://kubernetes.io/docs/reference/kubectl/kubectl/).
SERVER_URL = re.compile(r"https?://[^\s/?#@]+(/[^\s?#]*)?")


def check_auth(auth: dict[str, Any]) -> None:
    """The auth options that shape a URL or a header, checked before anything is sent."""
    host = auth.get("host")
    if host is not None:
        path = host.split("://", 1)[-1].partition("/")[2]
        if not SERVER_URL.fullmatch(host) or any(part in (".", "..") for part in path.split("/")):
            raise OptionError(f"host: {str(host)[:100]!r} is not the API server's URL (https://<host>[:<port>], "
                              "no white space or dot segments)")
    api_key = auth.get("api_key")
    if api_key is not None and (not api_key or not api_key.isprintable() or any(c.isspace() for c in api_key)):
        raise OptionError("api_key: must be a bearer token: printable characters without white space")
    for option in ("ca_cert", "client_cert", "client_key"):
        value = auth.get(option)
        if value is not None and not os.path.isfile(value):
            raise OptionError(f"{option}: {str(value)[:200]!r} is not a readable file (a PEM file's path)")


def _configuration(auth: dict[str, Any], environ: Mapping[str, str]) -> Any:
    from kubernetes.client.configuration import Configuration
    from kubernetes.config import ConfigException

    config = Configuration()
    if auth.get("host") and (auth.get("api_key") or (auth.get("client_cert") and auth.get("client_key"))):
        pass  # complete without a file
    else:
        kubeconfig = auth.get("kubeconfig")
        if kubeconfig is None:
            kubeconfig = environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
            if not any(os.path.exists(os.path.expanduser(p)) for p in kubeconfig.split(os.pathsep) if p):
                kubeconfig = None
        try:
            if isinstance(kubeconfig, dict):
                from kubernetes.config import load_kube_config_from_dict
                load_kube_config_from_dict(kubeconfig, context=auth.get("context"),
                                           client_configuration=config, persist_config=False)
            elif kubeconfig:
                from kubernetes.config import load_kube_config
                load_kube_config(config_file=kubeconfig, context=auth.get("context"),
                                 client_configuration=config, persist_config=False)
            elif os.path.exists(IN_CLUSTER_TOKEN):
                from kubernetes.config import load_incluster_config
                load_incluster_config(client_configuration=config)
            elif not auth.get("host"):
                raise ConfigError(
                    "no Kubernetes configuration found: set kubeconfig (or K8S_AUTH_KUBECONFIG / KUBECONFIG), "
                    "or host with api_key or client_cert and client_key, or run inside a cluster")
        except ConfigException as e:
            raise ConfigError(f"kubeconfig: cannot load the Kubernetes configuration (context {auth.get('context')!r}): "
                              f"{e}") from e
        except OSError as e:
            raise ConfigError(f"kubeconfig: cannot read the Kubernetes configuration: {e}") from e
    if auth.get("host"):
        config.host = auth["host"].rstrip("/")
    if auth.get("api_key"):
        config.api_key = {"authorization": "Bearer " + auth["api_key"]}
        config.api_key_prefix = {}
    if auth.get("validate_certs") is not None:
        config.verify_ssl = bool(auth["validate_certs"])
    for option, attribute in (("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"), ("client_key", "key_file")):
        if auth.get(option):
            setattr(config, attribute, auth[option])
    return config


class HttpTransport:
    """Plain REST over the urllib3 pool the kubernetes client configures (TLS, proxy, certs)."""

    def __init__(self, configuration: Any) -> None:
        from kubernetes.client.rest import RESTClientObject

        self.configuration = configuration
        self.host = configuration.host.rstrip("/")
        self.pool = RESTClientObject(configuration).pool_manager
        if not configuration.verify_ssl:
            import urllib3

            # validate_certs=false was asked for; one warning per request on stderr adds nothing.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        # auth_settings() runs the refresh hook, so exec-plugin and OIDC tokens stay fresh.
        bearer = self.configuration.auth_settings().get("BearerToken")
        if bearer and bearer.get("value"):
            headers["Authorization"] = bearer["value"]
        return headers

    def request(self, method: str, path: str, query: list[tuple[str, str]] | None = None,
                body: Any = None, content_type: str | None = None) -> tuple[int, dict[str, str], bytes]:
        import urllib3

        # ``path`` comes percent-encoded from ``_paths.build`` (``Resource.path``): sent as it is, not
        # encoded twice; it holds no dot segment for urllib3 to remove.
        url = self.host + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        payload = None if body is None else json.dumps(body).encode("utf-8")
        try:
            response = self.pool.request(method, url, body=payload, headers=self._headers(content_type),
                                         timeout=urllib3.Timeout(connect=TIMEOUT[0], read=TIMEOUT[1]),
                                         retries=False, preload_content=True)
        except urllib3.exceptions.SSLError as e:
            # A certificate the client refuses is not transient: code -1 is outside the retry policy.
            raise K8sError(-1, "SSLError", f"{method} {self.host}{path}: {e}") from e
        except urllib3.exceptions.HTTPError as e:
            # Refused, reset or timed out: code 0, retried by ``_k8s_api.RetryPolicy``.
            raise K8sError(0, "ConnectionError", f"{method} {self.host}{path}: {e}") from e
        return response.status, dict(response.headers), response.data


def connect(params: dict[str, Any], environ: Mapping[str, str] | None = None) -> HttpTransport:
    """A transport for the cluster the options (or environment) point at. Sends nothing."""
    environ = dict(os.environ) if environ is None else environ
    auth = auth_settings(params, environ)
    check_auth(auth)
    return HttpTransport(_configuration(auth, environ))
