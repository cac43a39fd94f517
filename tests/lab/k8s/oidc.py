"""Service account token issuing (TokenRequest) and the OIDC discovery documents for it.

Tokens look like kube-apiserver's bound service account tokens: RS256, ``kid`` = the JWK's key
id (base64url SHA-256 of the DER public key, as pkg/serviceaccount/jwt.go derives it), claims
``aud`` (list), ``exp``, ``iat``, ``nbf``, ``iss``, ``jti``, ``sub`` and the ``kubernetes.io``
block. The discovery document has exactly the fields kube-apiserver serves
(pkg/serviceaccount/openidmetadata.go), and AKS serves the same at its issuer URL.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class TokenIssuer:
    """One RSA signing key for the life of the process (it survives ``reset()``)."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        return {"keys": [{
            "use": "sig", "kty": "RSA", "kid": self.kid, "alg": "RS256",
            "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e),
        }]}

    @staticmethod
    def discovery(issuer: str, jwks_uri: str) -> dict[str, Any]:
        return {
            "issuer": issuer,
            "jwks_uri": jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def issue(self, issuer: str, namespace: str, name: str, sa_uid: str, audiences: list[str],
              expiration_seconds: int, bound: dict[str, str] | None = None) -> tuple[str, int]:
        now = int(time.time())
        exp = now + int(expiration_seconds)
        private: dict[str, Any] = {"namespace": namespace, "serviceaccount": {"name": name, "uid": sa_uid}}
        if bound:
            private[bound["kind"].lower()] = {"name": bound["name"], "uid": bound["uid"]}
        claims = {
            "aud": list(audiences),
            "exp": exp,
            "iat": now,
            "iss": issuer,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": private,
            "nbf": now,
            "sub": f"system:serviceaccount:{namespace}:{name}",
        }
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": None})
        return token, exp

    def verify(self, token: str, issuer: str) -> dict[str, Any] | None:
        """The claims of a token this issuer signed and that has not expired, else None."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        if header.get("kid") != self.kid:
            return None
        try:
            return jwt.decode(token, self._key.public_key(), algorithms=["RS256"], issuer=issuer,
                              options={"verify_aud": False})
        except jwt.PyJWTError:
            return None
