"""tools/setup/mmcv_build_plan.py: CPU or CUDA ops, arch list, toolkit pins, cache key, a CUDA_HOME
assembled from wheels, and the messages for settings that cannot build; nothing is compiled here."""
import os
import stat
import subprocess
import sys

import pytest
from _tools import REPO, load_tool

plan = load_tool('setup', 'mmcv_build_plan')

# torch 2.14.1's Requires-Dist (CUDA 13 wheels) and the shape of a CUDA 12.6 wheel's.
TORCH_CU13_REQUIRES = [
    'cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.0.3; '
    'platform_system == "Linux"',
    'nvidia-cudnn-cu13==9.24.0.43; platform_system == "Linux"',
]
TORCH_CU126_REQUIRES = [
    'nvidia-cuda-nvrtc-cu12==12.6.77; platform_system == "Linux"',
    'nvidia-cuda-runtime-cu12==12.6.77; platform_system == "Linux"',
    'nvidia-cudnn-cu12==9.5.1.17; platform_system == "Linux"',
]


def test_ops_kind():
    assert plan.ops_kind('13.0', gpu_visible=True, force_cuda=False) == 'cudaops'
    assert plan.ops_kind('13.0', gpu_visible=False, force_cuda=True) == 'cudaops'
    assert plan.ops_kind('13.0', gpu_visible=False, force_cuda=False) == 'cpuops'
    assert plan.ops_kind(None, gpu_visible=False, force_cuda=False) == 'cpuops'
    with pytest.raises(plan.PlanError, match='CPU-only build'):
        plan.ops_kind(None, gpu_visible=False, force_cuda=True)


def test_arch_list_override_then_gpus_then_default():
    # the environment wins, spaces read as torch reads them
    assert plan.arch_list('8.6 9.0+PTX', [(8, 0)], '13.0') == '8.6;9.0+PTX'
    # the visible GPUs, each generation once, PTX of the newest
    assert plan.arch_list(None, [(9, 0), (8, 6), (9, 0)], '13.0') == '8.6;9.0+PTX'
    assert plan.arch_list('  ', [(8, 9)], '13.0') == '8.9+PTX'
    # no GPU: the documented list for the toolkit (Blackwell from CUDA 12.8 on)
    assert plan.arch_list(None, [], '13.0') == '8.0;8.6;8.9;9.0;10.0;12.0+PTX'
    assert plan.arch_list(None, [], '12.8') == '8.0;8.6;8.9;9.0;10.0;12.0+PTX'
    assert plan.arch_list(None, [], '12.4') == '8.0;8.6;8.9;9.0+PTX'


def test_every_default_arch_list_parses_with_torch():
    for _, arches in plan.DEFAULT_ARCHES:
        plan.check_arch_list(arches)
    with pytest.raises(plan.PlanError, match="TORCH_CUDA_ARCH_LIST='9.9'"):
        plan.check_arch_list('9.9')
    assert 'TORCH_CUDA_ARCH_LIST' not in os.environ or os.environ['TORCH_CUDA_ARCH_LIST'] != '9.9'


def test_toolkit_requirements_follow_torch():
    assert plan.toolkit_requirements(TORCH_CU13_REQUIRES, '13.0') == ['cuda-toolkit[nvcc,cccl]==13.0.3']
    assert plan.toolkit_requirements(TORCH_CU126_REQUIRES, '12.6') == [
        'nvidia-cuda-nvrtc-cu12==12.6.77', 'nvidia-cuda-runtime-cu12==12.6.77',
        'nvidia-cuda-nvcc-cu12==12.6.*', 'nvidia-cuda-cccl-cu12==12.6.*']
    # a torch that names no CUDA wheels (built elsewhere): the meta-package's series
    assert plan.toolkit_requirements([], '12.8') == ['cuda-toolkit[nvcc,cccl]==12.8.*']


def test_cache_key_separates_toolkits_and_arches():
    cpu = plan.cache_key('2.1.0', '2.14.1', '13.0', 'cp311', 'cpuops')
    assert cpu == 'mmcv-2.1.0_torch2.14.1_cu130_cp311_cpuops'
    hopper = plan.cache_key('2.1.0', '2.14.1', '13.0', 'cp311', 'cudaops', '13.0.88', '9.0')
    assert hopper == 'mmcv-2.1.0_torch2.14.1_cu130_cp311_cudaops_nvcc13.0.88_sm90'
    keys = {hopper,
            plan.cache_key('2.1.0', '2.14.1', '13.0', 'cp311', 'cudaops', '13.0.88', '8.6;9.0+PTX'),
            plan.cache_key('2.1.0', '2.14.1', '13.0', 'cp311', 'cudaops', '13.0.48', '9.0')}
    assert len(keys) == 3
    assert plan.cache_key('2.1.0', '2.14.1', None, 'cp311', 'cpuops').endswith('_cpu_cp311_cpuops')


def _fake_nvcc(folder, release):
    nvcc = folder / 'bin' / 'nvcc'
    nvcc.parent.mkdir(parents=True)
    nvcc.write_text('#!/bin/sh\necho "nvcc: NVIDIA (R) Cuda compiler driver"\n'
                    f'echo "Cuda compilation tools, release {release[:4]}, V{release}"\n')
    nvcc.chmod(nvcc.stat().st_mode | stat.S_IEXEC)
    return nvcc


def test_user_toolkit_must_match_torch(tmp_path):
    _fake_nvcc(tmp_path / 'cuda-12.4', '12.4.131')
    with pytest.raises(plan.PlanError) as err:
        plan.check_user_toolkit(tmp_path / 'cuda-12.4', '13.0', '2.14.1')
    message = str(err.value)
    assert 'has CUDA 12.4.131' in message and 'built with CUDA 13.0' in message
    assert 'unset CUDA_HOME' in message and 'torch built for CUDA 12.4' in message
    _fake_nvcc(tmp_path / 'cuda-13.0', '13.0.48')
    assert plan.check_user_toolkit(tmp_path / 'cuda-13.0', '13.0', '2.14.1') == '13.0.48'
    with pytest.raises(plan.PlanError, match='no nvcc at'):
        plan.check_user_toolkit(tmp_path / 'nothing', '13.0', '2.14.1')


def test_assemble_cuda_home_links_toolkit_first_then_torch_libraries(tmp_path):
    toolkit = tmp_path / 'toolkit' / 'nvidia' / 'cu13'
    _fake_nvcc(toolkit, '13.0.88')
    (toolkit / 'include').mkdir()
    (toolkit / 'include' / 'cuda_runtime.h').write_text('toolkit')
    (toolkit / 'lib').mkdir()
    (toolkit / 'lib' / 'libcudart.so.13').write_text('toolkit')
    venv = tmp_path / 'venv' / 'nvidia' / 'cu13'
    (venv / 'include').mkdir(parents=True)
    (venv / 'include' / 'cuda_runtime.h').write_text('venv')  # the toolkit's copy wins
    (venv / 'include' / 'cusparse.h').write_text('venv')      # what the compiler wheels lack
    (venv / 'lib').mkdir()
    (venv / 'lib' / 'libcusparse.so.12').write_text('venv')

    home = plan.assemble_cuda_home(tmp_path / 'home', tmp_path / 'toolkit', tmp_path / 'venv')
    assert (home / 'include' / 'cuda_runtime.h').read_text() == 'toolkit'
    assert (home / 'include' / 'cusparse.h').read_text() == 'venv'
    assert (home / 'lib64' / 'libcusparse.so').read_text() == 'venv'   # lib64 and the unversioned name
    assert os.readlink(home / 'lib' / 'libcudart.so') == 'libcudart.so.13'
    assert plan.nvcc_version(home) == '13.0.88'
    # a second call with the same sources keeps the folder; other sources rebuild it
    (home / 'marker').write_text('kept')
    plan.assemble_cuda_home(tmp_path / 'home', tmp_path / 'toolkit', tmp_path / 'venv')
    assert (home / 'marker').exists()
    with pytest.raises(plan.PlanError, match='did not install nvcc'):
        plan.assemble_cuda_home(tmp_path / 'home', tmp_path / 'venv', tmp_path / 'venv')
    assert not (home / 'marker').exists()


def test_cli_prints_the_cpu_plan_and_refuses_a_cpu_torch_with_force_cuda(tmp_path):
    script = os.path.join(REPO, 'tools', 'setup', 'mmcv_build_plan.py')
    env = {k: v for k, v in os.environ.items() if k not in ('FORCE_CUDA', 'CUDA_HOME')}
    out = subprocess.run([sys.executable, script, '--cache', str(tmp_path), '--mmcv', '2.1.0'],
                         capture_output=True, text=True, env=env, check=True).stdout
    import torch
    if torch.cuda.is_available():
        pytest.skip('a visible GPU plans CUDA ops')
    lines = dict(line.split('=', 1) for line in out.splitlines())
    assert lines['WITH_CUDA'] == 'cpuops'
    assert lines['KEY'].startswith('mmcv-2.1.0_torch') and lines['KEY'].endswith('_cpuops')
    if torch.version.cuda is None:
        res = subprocess.run([sys.executable, script, '--cache', str(tmp_path), '--mmcv', '2.1.0'],
                             capture_output=True, text=True, env={**env, 'FORCE_CUDA': '1'})
        assert res.returncode == 1 and 'CPU-only build' in res.stderr
