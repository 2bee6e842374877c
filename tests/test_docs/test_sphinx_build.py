"""The documentation site builds with warnings as errors (Sphinx + myst-parser; `pip install -e .[docs]`).

The build runs in this process: autodoc imports focus_mm, which the test session has imported already.
"""
import contextlib
import io
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_sphinx_builds_without_warnings(tmp_path):
    pytest.importorskip('myst_parser', reason='the docs extra is not installed: pip install -e .[docs]')
    from sphinx.cmd.build import build_main

    warnings = tmp_path / 'warnings.txt'
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = build_main(['-W', '--keep-going', '-q', '-b', 'html', '-w', str(warnings), '-d',
                         str(tmp_path / 'doctrees'), osp.join(REPO, 'docs'), str(tmp_path / 'html')])
    assert rc == 0, warnings.read_text() + out.getvalue()[-3000:]
    pages = [f for _, _, files in os.walk(tmp_path / 'html') for f in files if f.endswith('.html')]
    assert 'api.html' in pages and len(pages) >= 18, sorted(pages)
    api = (tmp_path / 'html' / 'api.html').read_text(encoding='utf-8')
    assert 'GroundQueryHead' in api and 'ForegroundMetric' in api  # autodoc ran
