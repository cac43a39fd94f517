# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A connection that is not ``local`` to the controller shell: ansible.builtin.local under another
transport name, as a host reached through a real connection plugin (ssh, docker, ...) would be. The
collection's action plugins must run the module for it (tests/integration/test_controller_shell.py)."""

from __future__ import annotations

from ansible.plugins.connection.local import Connection as LocalConnection

DOCUMENTATION = """
name: lab_elsewhere
short_description: ansible.builtin.local under another transport name (a test connection)
description:
  - Runs commands on the controller like ansible.builtin.local, but names itself C(lab_elsewhere).
author: kedaops.aks contributors
"""


class Connection(LocalConnection):
    transport = "lab_elsewhere"
