"""Paths tests share (importable as ``lab.testing``, unlike a conftest whose module name collides)."""

from __future__ import annotations

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
