# Sphinx configuration of the kedaops.aks docs site (make docs). Started from
# `antsibull-docs sphinx-init --use-current --squash-hierarchy kedaops.aks` (antsibull-docs 2.28) and
# changed in three ways: no intersphinx (the build is offline and deterministic; the generated
# config fetches four inventories from the internet), MyST for the user guides in docs/*.md, and
# the project's own front page (index.rst beside this file).
project = "kedaops.aks"
copyright = "kedaops.aks contributors"  # pylint: disable=redefined-builtin
title = "kedaops.aks"
html_short_title = "kedaops.aks"

extensions = ["sphinx_antsibull_ext", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# Raw HTML anchors in the guides and the changelog stay as they are; headings get anchors so
# "#section" links inside a guide resolve.
myst_heading_anchors = 3

pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
html_last_updated_fmt = None  # no build date in the pages: two builds of one commit are identical

default_role = "any"
nitpicky = True
