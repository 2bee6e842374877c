"""Sphinx configuration of the focus_mm documentation (Markdown pages through myst-parser).

Build: ``sphinx-build -W -b html docs docs/_build/html`` (``pip install -e .[docs]``); the test suite
builds it with warnings as errors (tests/test_docs/test_sphinx_build.py).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

project = 'focus_mm'
author = 'focus_mm contributors'
copyright = '2026, focus_mm contributors'

extensions = ['myst_parser', 'sphinx.ext.autodoc', 'sphinx.ext.napoleon']
source_suffix = {'.md': 'markdown'}
exclude_patterns = ['_build']
root_doc = 'index'
html_theme = 'alabaster'
html_static_path = ['_static']

# Headings become link targets ("page.md#a-heading") down to level 3.
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence']

# The API page documents the registered components from their docstrings (Google style).
autodoc_default_options = {'members': False, 'show-inheritance': True}
autodoc_member_order = 'bysource'
napoleon_google_docstring = True
napoleon_numpy_docstring = False
