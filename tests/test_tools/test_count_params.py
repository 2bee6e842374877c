"""tools/analysis_tools/count_params.py: full-size parts (meta device) match the authors' counts within 2%."""
import pytest

from _tools import load_tool


def _count_params_tool(repo_root):
    return load_tool('analysis_tools', 'count_params')


@pytest.mark.parametrize('arch', ['large', 'giant'])
def test_parts_match_the_authors_counts(arch, repo_root):
    tool = _count_params_tool(repo_root)
    counts = tool.count_parts(arch)
    assert set(counts) == set(tool.AUTHORS[arch])
    for part, ours in counts.items():
        ref = tool.AUTHORS[arch][part]
        assert abs(ours - ref) / ref <= 0.02, (arch, part, ours, ref)
