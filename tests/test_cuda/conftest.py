"""The CUDA tests (``-m cuda``): every test here needs a GPU and mmcv's CUDA kernels.

Each module marks itself ``cuda`` and skips without a GPU (``pytestmark = CUDA_MARKS``). With a GPU but an
mmcv built without its CUDA kernels the tests fail with the fix, rather than testing mmcv's CPU path.
"""
import pytest
import torch
from cuda_utils import NO_GPU


@pytest.fixture(autouse=True)
def _mmcv_cuda_kernels():
    if not torch.cuda.is_available():
        pytest.skip(NO_GPU)
    from mmcv.ops import get_compiling_cuda_version
    if get_compiling_cuda_version() == 'not available':
        pytest.fail('mmcv was built without its CUDA kernels: rerun `FORCE_CUDA=1 bash tools/setup_env.sh` '
                    '(docs/get_started.md, section GPU)')
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 comparisons at float32 precision
    torch.backends.cudnn.allow_tf32 = False
    yield
