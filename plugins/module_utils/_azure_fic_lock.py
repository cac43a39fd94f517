# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-identity write lock of federated credential writes (every process of this user on this controller)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
import time
from typing import Iterator

from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
from ansible_collections.kedaops.aks.plugins.module_utils._azure_token_cache import private_dir


def lock_dir() -> str:
    """This user's private lock directory (``$TMPDIR/kedaops-aks-<uid>``, mode 0700): another local
    user can neither hold our locks (and stall our writes) nor plant a file or link in it."""
    path = os.path.join(tempfile.gettempdir(), f"kedaops-aks-{os.getuid()}")
    if private_dir(path) is None:
        raise AzureError(f"the lock directory {path} is not a private directory of this user (mode 0700); "
                         "remove it and run again", code="LockDirectoryNotPrivate")
    return path


def lock_path(identity_resource_id: str) -> str:
    digest = hashlib.sha256(identity_resource_id.lower().encode("utf-8")).hexdigest()[:32]
    return os.path.join(lock_dir(), f"fic-{digest}.lock")


@contextlib.contextmanager
def identity_write_lock(identity_resource_id: str, timeout: float) -> Iterator[None]:
    """Serialise federated credential writes to one identity across every process of this user on
    this controller (forks, async tasks, parallel playbooks): Azure answers overlapping writes under
    one identity with a 409. An advisory fcntl lock on a file keyed by the identity's id, in the
    user's private directory; the kernel drops it if the holder dies. The holder removes the file
    before it unlocks, and a waiter that wins the lock on a removed file tries again, so files do not
    pile up and two holders never coexist."""
    import fcntl

    path = lock_path(identity_resource_id)
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as err:
                    if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    if time.monotonic() >= deadline:
                        raise AzureError(
                            f"Timed out after {timeout:.0f} s waiting for the federated credential write lock of "
                            f"{identity_resource_id} ({path})", code="LockTimeout") from None
                    time.sleep(0.05)
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
        except BaseException:
            os.close(fd)
            raise
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)  # the previous holder removed this file: lock the one now at the path
    try:
        yield
    finally:
        try:
            os.unlink(path)
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
