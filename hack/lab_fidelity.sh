#!/usr/bin/env bash
# Regenerate docs/lab-fidelity.md: replay every recording in ../shared/reference/recordings against a
# fresh lab (tests/contract/test_recordings.py) and write the table the test then compares against.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
LAB_WRITE_FIDELITY_DOC=1 "$root/.venv/bin/python" -m pytest tests/contract/test_recordings.py -q -p no:cacheprovider \
  -k test_fidelity_doc_is_current "$@"
