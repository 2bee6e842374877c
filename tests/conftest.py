"""Shared pytest set-up: deterministic, small, CPU-only, offline."""
import os
import os.path as osp

import pytest

# Tests must never reach for a hub: open_clip / huggingface / torch.hub stay offline.
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import torch  # noqa: E402

import focus_mm  # noqa: E402,F401  (registers everything)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DIR = osp.join(osp.dirname(REPO_ROOT), 'shared')

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture
def one_thread():
    """torch on one thread for the test (``pytestmark = pytest.mark.usefixtures('one_thread')``): tiny
    ops on the shared 2-core machine are many times faster without thread hand-offs (``single_thread``)."""
    from _tiny_models import single_thread
    with single_thread():
        yield


@pytest.fixture
def repo_root() -> str:
    return REPO_ROOT
