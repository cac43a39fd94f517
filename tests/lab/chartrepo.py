"""A Helm chart repository over HTTPS: the folder ``../shared/charts`` as ``helm repo add`` sees one.

A chart repository is plain static files: ``index.yaml`` at the root and the packaged charts it
lists (https://helm.sh/docs/topics/chart_repository/). The index's relative ``urls`` resolve
against the repository URL, so ``helm install keda --repo $LAB_CHART_REPO_URL --version 2.20.2``
and ``helm repo add kedacore $LAB_CHART_REPO_URL`` work unchanged. The folder holds the kedacore/keda
chart packaged unchanged from the kedacore/charts release tags (its README says how).

The folder is ``$LAB_CHARTS_DIR`` or ``../shared/charts`` beside the repository.
"""

from __future__ import annotations

import os

from .core import Lab, Request, Response, Service, StreamWriter
from .testing import REPO_ROOT

# What static hosts (GitHub Pages, which serves https://kedacore.github.io/charts) answer.
CONTENT_TYPES = {".yaml": "application/x-yaml", ".tgz": "application/gzip", ".prov": "text/plain",
                 ".md": "text/markdown"}


def charts_dir() -> str:
    return os.environ.get("LAB_CHARTS_DIR") or os.path.join(os.path.dirname(REPO_ROOT), "shared", "charts")


class ChartRepoService(Service):
    """LAB_CHART_REPO_URL: GET/HEAD of the files in the charts folder, 404 for anything else."""

    name = "charts"

    def __init__(self, lab: Lab) -> None:
        super().__init__(lab)
        self.directory = charts_dir()

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", {"Content-Type": "text/plain", "Allow": "GET, HEAD"})
        name = request.path.strip("/") or "index.yaml"
        # Only files directly in the folder: no traversal, no listing.
        if "/" in name or name.startswith(".") or not os.path.isfile(os.path.join(self.directory, name)):
            return Response(404, b"404 page not found\n", {"Content-Type": "text/plain"})
        with open(os.path.join(self.directory, name), "rb") as f:
            body = f.read()
        content_type = CONTENT_TYPES.get(os.path.splitext(name)[1], "application/octet-stream")
        return Response(200, body, {"Content-Type": content_type})

    def env(self) -> dict[str, str]:
        return {"LAB_CHART_REPO_URL": self.url + "/"} if self.url else {}
