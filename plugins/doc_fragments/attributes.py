# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every module declares: check mode, diff mode, idempotence, platform.

A module's own ``attributes`` entries are merged over these (its ``details`` say how, for it)."""

from __future__ import annotations


class ModuleDocFragment:

    # Modules that change things.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and predict the change without making it.
    support: full
  diff_mode:
    description: Returns the state before and after (what changed, or would change in check mode) in diff mode.
    support: full
  idempotent:
    description: >-
      A second run with the same options reports no change and sends no write (the collection's tests check
      this against the lab's request log).
    support: full
  platform:
    description: Runs on the controller (or execution environment) and talks to the APIs only.
    support: full
    platforms: posix
"""

    # Modules that only read.
    INFO = r"""
options: {}
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Reads only; returns no diff.
    support: none
  idempotent:
    description: Reads only; never reports a change.
    support: full
  platform:
    description: Runs on the controller (or execution environment) and talks to the APIs only.
    support: full
    platforms: posix
"""

    # The Kubernetes modules, listed before the plain fragment (the first fragment to state an attribute wins):
    # check mode is the API server's own dry run.
    K8S = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode. Writes are sent as server-side dry runs (C(dryRun=All)), so the
      predicted object is the API server's.
    support: full
  diff_mode:
    description: Returns the object before and after, without server-managed metadata.
    support: full
  action_group:
    description: Use C(group/kedaops.aks.k8s) in C(module_defaults) to set the connection options.
    support: full
    membership:
      - kedaops.aks.k8s
"""
