"""Sphinx configuration. Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``."""

project = "xhydro_accessor"
author = "xhydro_accessor developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc sections already say the types
napoleon_numpy_docstring = True
napoleon_google_docstring = False
html_theme = "alabaster"
html_title = "xhydro_accessor"
# "ref.python": words of numpydoc type lines such as "array of shape ..." that name two attributes
suppress_warnings = ["myst.xref_missing", "ref.python"]


def _escape_star_args(app, what, name, obj, options, lines):
    """``(..., *network.shape)`` in a numpydoc type line is not reST emphasis."""
    for i, line in enumerate(lines):
        if " : " in line and "*" in line and not line.startswith(" "):
            lines[i] = line.replace("*", r"\*")


def setup(app):
    app.connect("autodoc-process-docstring", _escape_star_args, priority=100)  # before napoleon
