"""Full-size parts (built on the meta device) match the authors' parameter counts within 2%."""
import importlib.util
import os.path as osp

import pytest


def _count_params_tool(repo_root):
    path = osp.join(repo_root, 'tools', 'analysis_tools', 'count_params.py')
    spec = importlib.util.spec_from_file_location('count_params', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('arch', ['large', 'giant'])
def test_parts_match_the_authors_counts(arch, repo_root):
    tool = _count_params_tool(repo_root)
    counts = tool.count_parts(arch)
    assert set(counts) == set(tool.AUTHORS[arch])
    for part, ours in counts.items():
        ref = tool.AUTHORS[arch][part]
        assert abs(ours - ref) / ref <= 0.02, (arch, part, ours, ref)
