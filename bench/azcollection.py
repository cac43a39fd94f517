# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The azure.azcollection anchor: its own venv, and its AzureCloud pointed at the lab.

``install``: azure.azcollection 3.12.0 comes inside the ``ansible`` 12.3.0 wheel on PyPI. Its
collection directory is unpacked into ``.venv-bench/collections`` and its ``requirements.txt``
(the pinned azure SDKs and azure-cli-core) installed into ``.venv-bench`` -- never into ``.venv``,
whose azure-core / azure-identity versions our modules are measured with.

``patch``: azure.azcollection 3.x resolves a custom ``cloud_environment`` URL with
``azure.cli.core.cloud.get_cloud_from_metadata_endpoint``, which its pinned azure-cli-core 2.75
no longer has, so it cannot be given the lab's ARM URL. Instead the two endpoints of the
``AzureCloud`` definition it looks up by name (``AZURE_PUBLIC_CLOUD`` in
``azure/cli/core/cloud.py``) are rewritten to the running lab's URLs: ``resource_manager`` (ARM,
and so the token scope ``<arm>/.default``) and ``active_directory`` (the Entra login endpoint).
The untouched file is kept beside it as ``cloud.py.orig`` and every patch starts from it, so
patching again with a new lab's URLs is idempotent. MSAL's instance discovery / authority
validation (the lab's Entra is not a Microsoft host) needs no patch: azure.azcollection has the
documented switch ``AZURE_DISABLE_INSTANCE_DISCOVERY=true``, which the benchmark sets.

Usage: python bench/azcollection.py install [--venv DIR] [--cache DIR]
       python bench/azcollection.py patch --arm URL --login URL [--venv DIR]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSIBLE_WHEEL = "ansible==12.3.0"  # carries azure.azcollection 3.12.0 (and kubernetes.core 6.2.0)
PREFIX = "ansible_collections/azure/azcollection/"
DEFAULT_VENV = os.path.join(ROOT, ".venv-bench")
DEFAULT_CACHE = os.path.join(ROOT, ".cache")
CLOUD_MODULE = os.path.join("azure", "cli", "core", "cloud.py")
PUBLIC_ARM = "resource_manager='https://management.azure.com/'"
PUBLIC_LOGIN = "active_directory='https://login.microsoftonline.com'"


def collection_dir(venv: str) -> str:
    return os.path.join(venv, "collections", "ansible_collections", "azure", "azcollection")


def python_of(venv: str) -> str:
    return os.path.join(venv, "bin", "python")


def _wheel(cache: str) -> str:
    wheels = glob.glob(os.path.join(cache, "ansible-12.3.0-*.whl"))
    if not wheels:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", cache, ANSIBLE_WHEEL])
        wheels = glob.glob(os.path.join(cache, "ansible-12.3.0-*.whl"))
    return wheels[0]


def _unpack(wheel: str, target: str) -> None:
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith(PREFIX) and not member.endswith("/"):
                dest = os.path.join(target, member[len(PREFIX):])
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with archive.open(member) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)


def install(venv: str, cache: str) -> None:
    """Idempotent: a stamp records a finished install."""
    stamp = os.path.join(venv, ".kedaops-bench-stamp")
    if os.path.exists(stamp):
        return
    os.makedirs(cache, exist_ok=True)
    target = collection_dir(venv)
    if not os.path.exists(python_of(venv)):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    _unpack(_wheel(cache), target)
    # --no-compile: the pinned SDKs are ~100,000 files; byte-compiling all of them is most of the
    # install time. What azure_rm_resource really imports is compiled by the import below.
    subprocess.check_call([python_of(venv), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile",
                           "-r", os.path.join(target, "requirements.txt")])
    subprocess.check_call([python_of(venv), "-c", "import ansible_collections.azure.azcollection.plugins.module_utils"
                           ".azure_rm_common as c; assert c.HAS_AZURE, c.HAS_AZURE_EXC"],
                          env=dict(os.environ, PYTHONPATH=module_path(venv)))
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(ANSIBLE_WHEEL + "\n")


def module_path(venv: str) -> str:
    """PYTHONPATH to run azure.azcollection's modules directly with the bench venv's python: its
    collections, and ansible-core's ``ansible`` package alone (linked from the venv running this
    script; Ansible ships ``ansible.module_utils`` inside each module payload at run time). Not
    the whole site-packages, whose azure SDKs would shadow the pinned ones."""
    import ansible  # pylint: disable=import-outside-toplevel

    only = os.path.join(venv, "ansible-core-only")
    link = os.path.join(only, "ansible")
    os.makedirs(only, exist_ok=True)
    if os.path.realpath(link) != os.path.realpath(os.path.dirname(ansible.__file__)):
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.dirname(ansible.__file__), link)
    return os.path.join(venv, "collections") + os.pathsep + only


def patch(venv: str, arm_url: str, login_url: str) -> str:
    """Point AzureCloud's ARM and login endpoints at the lab; returns the patched file."""
    pattern = os.path.join(venv, "lib", "python*", "site-packages", CLOUD_MODULE)
    found = glob.glob(pattern)
    if not found:
        raise SystemExit(f"azure-cli-core is not installed in {venv} ({pattern}); run: python bench/azcollection.py install")
    path = found[0]
    original = path + ".orig"
    if not os.path.exists(original):
        shutil.copy2(path, original)
    with open(original, encoding="utf-8") as f:
        source = f.read()
    start = source.index("AZURE_PUBLIC_CLOUD = Cloud(")
    end = source.index("\nAZURE_CHINA_CLOUD", start)
    block = source[start:end]
    for needle in (PUBLIC_ARM, PUBLIC_LOGIN):
        if block.count(needle) != 1:
            raise SystemExit(f"{original}: expected {needle!r} once in AZURE_PUBLIC_CLOUD; azure-cli-core changed?")
    block = block.replace(PUBLIC_ARM, f"resource_manager={arm_url.rstrip('/') + '/'!r}")
    block = block.replace(PUBLIC_LOGIN, f"active_directory={login_url.rstrip('/')!r}")
    patched = source[:start] + "# kedaops.aks bench: AzureCloud points at the lab (bench/azcollection.py)\n" + block + source[end:]
    with open(path, "w", encoding="utf-8") as f:
        f.write(patched)
    for stale in glob.glob(os.path.join(os.path.dirname(path), "__pycache__", "cloud.*.pyc")):
        os.remove(stale)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/azcollection.py")
    parser.add_argument("command", choices=("install", "patch"))
    parser.add_argument("--venv", default=DEFAULT_VENV)
    parser.add_argument("--cache", default=DEFAULT_CACHE)
    parser.add_argument("--arm")
    parser.add_argument("--login")
    args = parser.parse_args(argv)
    if args.command == "install":
        install(os.path.abspath(args.venv), os.path.abspath(args.cache))
    else:
        if not args.arm or not args.login:
            parser.error("patch needs --arm and --login")
        print(patch(os.path.abspath(args.venv), args.arm, args.login))
    return 0


if __name__ == "__main__":
    sys.exit(main())
