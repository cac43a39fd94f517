"""House III: no module_utils file over 400 lines, no lab file over 500 (a file that grows past its room
is split by concern, docs/module_utils.md); and every module file holds nothing but its documentation and
the call of its core."""

from __future__ import annotations

import ast
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIMITS = {os.path.join("plugins", "module_utils"): 400, os.path.join("tests", "lab"): 500}


def _lines(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for _line in f)


def test_no_file_outgrows_its_room():
    over = []
    for folder, limit in LIMITS.items():
        for base, _dirs, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                path = os.path.join(base, name)
                if name.endswith(".py") and _lines(path) > limit:
                    over.append(f"{os.path.relpath(path, ROOT)}: {_lines(path)} lines (limit {limit})")
    assert over == []


def test_a_module_file_only_calls_its_core():
    folder = os.path.join(ROOT, "plugins", "modules")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(folder, name), encoding="utf-8").read())
        functions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
        assert [f.name for f in functions] == ["main"], name
        assert ast.unparse(functions[0].body[0]) == "run_module(RESOURCE)" and len(functions[0].body) == 1, name
        for node in tree.body:
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                assert set(names) <= {"DOCUMENTATION", "EXAMPLES", "RETURN"}, (name, names)
        assert os.path.exists(os.path.join(ROOT, "plugins", "action", name)), f"{name} has no action plugin"
