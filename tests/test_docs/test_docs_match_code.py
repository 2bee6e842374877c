"""The README and docs/ against the code (tests/test_docs/docs_check.py): commands parse with the tools'
own parsers, named paths and configs exist, named types are registered, cross references point the
right way; and the checker itself finds each kind of mistake in a planted page."""
import os
import os.path as osp
import textwrap

import docs_check
import pytest

REPO = docs_check.REPO


@pytest.mark.parametrize('check', docs_check.CHECKS, ids=lambda c: c.__name__)
def test_docs_match_the_code(check):
    problems = check(REPO)
    assert not problems, '\n'.join(problems)


def test_every_page_is_in_the_site():
    """Sphinx warns about a page outside every toctree; this names it without a build."""
    index = open(osp.join(REPO, 'docs', 'index.md'), encoding='utf-8').read()
    pages = [osp.relpath(p, osp.join(REPO, 'docs'))[:-3] for p in docs_check.doc_files(REPO)[1:]]
    missing = [p for p in pages if p != 'index' and f'\n{p}\n' not in index]
    assert not missing, f'docs/index.md has no toctree entry for {missing}'


@pytest.fixture
def planted(tmp_path):
    """A checkout whose code is this one's and whose docs hold one mistake of each kind."""
    for name in ('tools', 'configs', 'focus_mm'):
        os.symlink(osp.join(REPO, name), tmp_path / name)
    (tmp_path / 'docs').mkdir()
    mini = 'configs/focus/focus_mini_1xb8-300_sod-256x256.py'
    (tmp_path / 'README.md').write_text(textwrap.dedent(f'''\
        # planted
        ```bash
        python tools/analysis_tools/benchmark.py {mini} --backend pytorch onnxruntime
        python tools/train.py {mini} --no-such-flag
        python tools/train.py {mini} --cfg-options trian_cfg.max_iters=3
        bash tools/dist_train.sh {mini} 2 --resume
        ```
        Convert with `python tools/model_converters/focus_official_to_mm.py`,
        test with `tools/test.py --taks`.
        See "Saved predictions" above, `configs/focus/focus_nowhere.py`, `focus_mini_4xb2-300_sod-256x256.py`,
        [the guide](docs/missing.md), `focus_mm.apis.NoSuchThing`, `dict(type='NoSuchHead')` and
        `EdgeEnhancerNeck(no_such_argument=1)`.

        ## Saved predictions
        '''))
    return str(tmp_path)


def test_the_checker_finds_planted_mistakes(planted):
    found = '\n'.join(p for check in docs_check.CHECKS for p in check(planted))
    expected = [
        'add --device cpu',                        # what the tool refuses after parsing (check_args)
        'unrecognized arguments: --no-such-flag',
        'trian_cfg',                               # --cfg-options refused by the config
        'required: src, dst',                      # a converter named without its arguments
        'has no option --taks',
        '"Saved predictions" is not above',
        'configs/focus/focus_nowhere.py does not exist',
        'no config named focus_mini_4xb2-300_sod-256x256.py',
        'link target docs/missing.md does not exist',
        'focus_mm.apis.NoSuchThing does not import',
        "type 'NoSuchHead' is not registered",
        "EdgeEnhancerNeck takes no argument 'no_such_argument'",
    ]
    assert 'README.md:6' not in found  # dist_train.sh passes the rest to train.py: that line is right
    for text in expected:
        assert text in found, f'{text!r} not reported:\n{found}'


def test_the_five_task_picture_draws(tmp_path):
    tool = docs_check.load_tool(REPO, 'tools/misc/draw_tasks.py')
    picture = tool.draw([0, 0, 0, 0, 0], 24)
    assert picture.shape == (22 + 24 + 3 + 24, 5 * (24 + 4), 3)
    masks = picture[22 + 24 + 3:, :, 0]
    assert 0 < (masks > 127).mean() < 0.9  # every task's mask has foreground and background
    out = tmp_path / 'tasks.png'
    assert tool.main(['--out', str(out), '--size', '24', '--index', '0', '0', '0', '0', '0']) == 0
    assert out.stat().st_size > 500
