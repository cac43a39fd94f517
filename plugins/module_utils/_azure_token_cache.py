# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An opt-in cache shared by the tasks of one run: the ARM access token and the cloud's endpoints.

Every Azure task is its own process, so without it each one asks ARM for the cloud's endpoints
(``/metadata/endpoints``, for an ARM URL) and Entra for the tenant's metadata and a token: three
round trips before its first real request. With ``KEDAOPS_AZURE_TOKEN_CACHE`` naming a directory
(unset, the default, caches nothing), the first task stores both and the others reuse them.

How the token is protected: it is never written in clear. Each entry is encrypted with AES-256-GCM
under a key derived (HKDF-SHA256) from the credential's own secret -- the client secret, or the
content of the workload identity's federated token file -- and bound to the authority, tenant,
client id and scope (its associated data); the file name is a hash of the same. Whoever can decrypt
an entry already holds what it takes to ask Entra for the same token. Other auth sources (managed
identity, the Azure CLI, which keeps its own cache) are not cached. The directory must belong to the
user and be closed to group and others (it is created 0700; files are written 0600); if it is not,
nothing is cached. A token is reused until 5 minutes before it expires; delete the directory after
the run.

The controller shell (the action plugins) does the same by default, per run and for every auth source,
with a ``RunCache``: the directory is a private one inside the run's own local temp directory (0700,
removed by ansible-playbook when the run ends), and the key is 32 random bytes drawn when the controller
loads the plugin, inherited by the forked workers and never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

CACHE_ENV = "KEDAOPS_AZURE_TOKEN_CACHE"
EXPIRY_MARGIN = 300  # seconds before expiry a cached token is no longer handed out
CLOUD_TTL = 3600  # seconds the cloud's endpoints are reused
_SALT = b"kedaops.aks azure token cache v1"


@dataclass(frozen=True)
class RunCache:
    """The controller shell's per-run cache: a private directory and the run's in-memory key."""

    directory: str
    key: bytes = field(repr=False)

    @classmethod
    def open(cls, parent: str, key: bytes) -> RunCache | None:
        """``parent``/kedaops-aks, created 0700 and checked to be the user's and closed to others; None if not."""
        path = private_dir(os.path.join(parent, "kedaops-aks"))
        return cls(path, key) if path is not None else None


def private_dir(path: str, follow_links: bool = False) -> str | None:
    """``path``, created 0700 if missing, when it is a directory of this user closed to group and others
    (a symbolic link only with ``follow_links``); None otherwise. The one test of the run cache, the opt-in
    cache and the credential write locks."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path) if follow_links else os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        return None
    return path


def cache_dir(environ: Any = None) -> str | None:
    """The cache directory when the user opted in and it is private to them; else None."""
    environ = os.environ if environ is None else environ
    path = environ.get(CACHE_ENV)
    return private_dir(str(path), follow_links=True) if path else None


def _write_private(path: str, data: bytes) -> None:
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def load_cloud(directory: str, arm_url: str) -> dict[str, str] | None:
    """The cloud endpoints stored for ``arm_url`` (not a secret) if younger than an hour."""
    path = os.path.join(directory, "cloud-" + hashlib.sha256(arm_url.encode()).hexdigest()[:32] + ".json")
    try:
        if time.time() - os.stat(path).st_mtime > CLOUD_TTL:
            return None
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def store_cloud(directory: str, arm_url: str, cloud: dict[str, str]) -> None:
    path = os.path.join(directory, "cloud-" + hashlib.sha256(arm_url.encode()).hexdigest()[:32] + ".json")
    _write_private(path, json.dumps(cloud).encode())


class CachedCredential:
    """A credential that answers ``get_token`` for one scope from the encrypted cache when it can."""

    def __init__(self, inner: Any, directory: str, secret: bytes, binding: str):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        self.inner = inner
        self.directory = directory
        self._secret = secret
        self._binding = binding
        self._hashes = hashes
        self._hkdf = HKDF

    def _key(self, scope: str) -> tuple[bytes, bytes, str]:
        associated = f"{self._binding}|{scope}".encode()
        key = self._hkdf(algorithm=self._hashes.SHA256(), length=32, salt=_SALT, info=associated).derive(self._secret)
        name = "token-" + hashlib.sha256(key + associated).hexdigest()[:40]
        return key, associated, os.path.join(self.directory, name)

    def _load(self, scope: str) -> tuple[str, int] | None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key, associated, path = self._key(scope)
        try:
            with open(path, "rb") as f:
                blob = f.read()
            entry = json.loads(AESGCM(key).decrypt(blob[:12], blob[12:], associated))
            token, expires_on = str(entry["token"]), int(entry["expires_on"])
        except (OSError, ValueError, KeyError, TypeError, InvalidTag):
            return None
        return (token, expires_on) if expires_on - EXPIRY_MARGIN > time.time() else None

    def _store(self, scope: str, token: str, expires_on: int) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key, associated, path = self._key(scope)
        nonce = os.urandom(12)
        plain = json.dumps({"token": token, "expires_on": expires_on}).encode()
        _write_private(path, nonce + AESGCM(key).encrypt(nonce, plain, associated))

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> Any:
        if claims or tenant_id or enable_cae or len(scopes) != 1:
            # A claims challenge or another tenant: always the real credential, never the cache.
            return self.inner.get_token(*scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs)
        from azure.core.credentials import AccessToken

        cached = self._load(scopes[0])
        if cached is not None:
            return AccessToken(*cached)
        token = self.inner.get_token(*scopes, **kwargs)
        self._store(scopes[0], token.token, int(token.expires_on))
        return token

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


def wrap(credential: Any, source: str, secret: str | None, token_file: str | None, binding: str,
         environ: Any = None) -> Any:
    """``credential`` behind the cache when the user opted in and the source has a secret to key it."""
    directory = cache_dir(environ)
    if directory is None:
        return credential
    material: bytes | None = None
    if source == "env" and secret:
        material = secret.encode()
    elif source == "workload_identity" and token_file:
        try:
            with open(token_file, "rb") as f:
                material = f.read().strip() or None
        except OSError:
            material = None
    if material is None:
        return credential
    return CachedCredential(credential, directory, material, binding)
