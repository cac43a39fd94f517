"""A throw-away certificate authority for the lab, generated at every start."""

from __future__ import annotations

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
)


# The public service host names the lab answers for, so real SDKs reach it unchanged once these names
# resolve to the lab (docs/lab.md, "Real host names"): Service Bus namespaces
# (<namespace>.servicebus.windows.net), Azure Monitor workspaces' Prometheus query endpoints
# (<workspace>-<suffix>.<region>.prometheus.monitor.azure.com, one wildcard per region, as a wildcard
# covers one label). ARM and Entra are not among them: clients reach those through their configurable
# endpoints, and a lab CA trusted in a shell should not vouch for the real ones.
SERVICE_HOSTS = (
    "*.servicebus.windows.net",
    "*.prometheus.monitor.azure.com",
    *(f"*.{region}.prometheus.monitor.azure.com" for region in (
        "eastus", "eastus2", "westus", "westus2", "westus3", "centralus", "northeurope", "westeurope",
        "uksouth", "swedencentral", "australiaeast", "southeastasia", "japaneast", "canadacentral")),
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_pki(directory: str) -> dict[str, str]:
    """Write ca.pem, server.pem, server-key.pem and ca-bundle.pem (system CAs + lab CA).

    Returns the paths by role. The server certificate covers 127.0.0.1, ::1 and localhost,
    which is every address the lab listens on, and the public service names in SERVICE_HOSTS.
    """
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kedaops lab CA"))
        .issuer_name(_name("kedaops lab CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kedaops lab"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
                *(x509.DNSName(host) for host in SERVICE_HOSTS),
            ]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    paths = {
        "ca": os.path.join(directory, "ca.pem"),
        "cert": os.path.join(directory, "server.pem"),
        "key": os.path.join(directory, "server-key.pem"),
        "bundle": os.path.join(directory, "ca-bundle.pem"),
    }
    with open(paths["ca"], "wb") as f:
        f.write(ca_pem)
    with open(paths["cert"], "wb") as f:
        f.write(server_cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    with open(paths["key"], "wb") as f:
        f.write(_pem_key(server_key))
    # A bundle with the system CAs too, so a shell that sources env.sh can still reach PyPI.
    system = b""
    for candidate in SYSTEM_BUNDLES:
        if os.path.exists(candidate):
            with open(candidate, "rb") as f:
                system = f.read()
            break
    with open(paths["bundle"], "wb") as f:
        f.write(system + b"\n" + ca_pem)
    return paths
