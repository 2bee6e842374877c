"""The CPU-side parts of tools/gpu_check.sh: the wheel folder (plan, completeness check, a small real
download), the dry run, the JSON report, the benchmark on the CPU, and the cuda tests skipping here."""
import importlib.metadata as metadata
import json
import os
import subprocess
import sys

import pytest
import torch

from _tools import REPO, load_tool

MINI = 'configs/focus/focus_mini_1xb8-300_sod-256x256.py'


@pytest.fixture(scope='module')
def gpu_wheels():
    return load_tool('setup', 'gpu_wheels')


def _touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b'')


def _requirements(folder, *lines):
    (folder / 'requirements.txt').write_text('# test\n' + '\n'.join(lines) + '\n')


def test_plan_pins_the_stack_and_leaves_torch_and_large_compiled_packages_out(gpu_wheels):
    pins, expected = gpu_wheels.plan()
    names = {p.split('==')[0] for p in pins}
    for pin in ('mmengine==0.10.7', 'mmsegmentation==1.2.2', 'mmpretrain==1.2.0', 'open-clip-torch==3.3.0',
                'pysodmetrics==1.6.2', 'mmdet==3.3.0'):
        assert pin in pins
    assert {'ninja', 'pytest', 'addict', 'regex'} <= names
    assert not names & {'torch', 'torchvision', 'triton', 'focus-mm', 'numpy'}
    assert not any(n.startswith('nvidia-') for n in names)
    assert {'numpy', 'scipy', 'opencv-python-headless'} <= set(expected)
    assert all('==' in p for p in pins)


def test_check_names_what_the_folder_lacks_for_python_312(gpu_wheels, tmp_path):
    _requirements(tmp_path, 'pure==1.0', 'compiled==2.0', 'stable-abi==3.0', 'absent==4.0')
    _touch(tmp_path, 'pure-1.0-py3-none-any.whl',
           'compiled-2.0-cp311-cp311-manylinux_2_17_x86_64.whl',  # for Python 3.11: not usable
           'stable_abi-3.0-cp310-abi3-manylinux2014_x86_64.whl')
    problems = gpu_wheels.check(str(tmp_path))
    assert len(problems) == 3
    assert 'compiled==2.0' in problems[0] and 'absent==4.0' in problems[1]
    assert 'mmcv-2.1.0.tar.gz' in problems[2]
    _touch(tmp_path, 'compiled-2.0-cp312-cp312-manylinux_2_17_x86_64.whl', 'absent-4.0-py2.py3-none-any.whl',
           'mmcv-2.1.0.tar.gz')
    assert gpu_wheels.check(str(tmp_path)) == []
    os.remove(tmp_path / 'requirements.txt')
    assert 'gpu_check_wheels.sh' in gpu_wheels.check(str(tmp_path))[0]


@pytest.mark.slow
def test_download_into_a_temporary_folder(gpu_wheels, tmp_path):
    """A few packages and mmcv's source archive from the registry (skipped without it)."""
    if subprocess.run([sys.executable, '-m', 'pip', 'index', 'versions', 'addict'], capture_output=True,
                      timeout=120).returncode != 0:
        pytest.skip('the package registry is not reachable')
    pins = ['addict==2.4.0', f'regex=={metadata.version("regex")}']
    result = gpu_wheels.download(str(tmp_path), pins=pins, max_mib=64)
    files = os.listdir(tmp_path)
    assert 'mmcv-2.1.0.tar.gz' in files and 'addict-2.4.0-py3-none-any.whl' in files
    assert any(f.startswith('regex-') and 'cp312' in f for f in files)  # a Python 3.12 wheel, not 3.11
    assert gpu_wheels.check(str(tmp_path)) == []
    assert 0 < result['mib'] < 64
    assert 'numpy' in open(tmp_path / 'expected_on_machine.txt').read()


def _complete_folder(folder):
    folder.mkdir()
    _requirements(folder, 'pure==1.0')
    _touch(folder, 'pure-1.0-py3-none-any.whl', 'mmcv-2.1.0.tar.gz')


def _gpu_check(wheels, out, **env):
    env = dict(os.environ, PYTHON=sys.executable, GPU_CHECK_OUT=str(out), GPU_CHECK_DRY_RUN='1', **env)
    proc = subprocess.run(['bash', 'tools/gpu_check.sh', str(wheels)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    return proc, json.load(open(out / 'gpu_check.json'))


def test_gpu_check_dry_run_checks_the_machine_and_the_folder(tmp_path):
    wheels = tmp_path / 'wheels'
    _complete_folder(wheels)
    (wheels / 'expected_on_machine.txt').write_text('numpy==1\n')
    proc, report = _gpu_check(wheels, tmp_path / 'ok')
    assert proc.returncode == 0, proc.stderr
    assert report['ok']
    assert [s['stage'] for s in report['stages']] == ['machine', 'wheels', 'compiled_packages']
    assert any(line.startswith('python ') for line in report['machine'])

    (wheels / 'expected_on_machine.txt').write_text('numpy==1\nnot-a-package-on-this-machine==1\n')
    proc, report = _gpu_check(wheels, tmp_path / 'missing')
    assert proc.returncode == 1 and not report['ok']
    log = (tmp_path / 'missing' / 'compiled_packages.log').read_text()
    assert 'gpu_check_wheels.sh --binary not-a-package-on-this-machine' in log

    proc, report = _gpu_check(wheels, tmp_path / 'late', GPU_CHECK_DEADLINE='5')
    assert proc.returncode == 1 and report['stages'] == [{'stage': 'machine', 'exit_code': 124, 'seconds': 0,
                                                          'timed_out': True}]

    os.remove(wheels / 'mmcv-2.1.0.tar.gz')
    proc, report = _gpu_check(wheels, tmp_path / 'incomplete')
    assert proc.returncode == 1 and report['stages'][-1]['stage'] == 'wheels'
    assert 'mmcv-2.1.0.tar.gz' in (tmp_path / 'incomplete' / 'wheels.log').read_text()


def test_report_gathers_stages_tests_and_benchmark(tmp_path):
    report_tool = load_tool('setup', 'gpu_check_report')
    (tmp_path / 'stages.tsv').write_text('install\t0\t12\nbuild_mmcv\t0\t301\ncuda_tests\t1\t40\n')
    (tmp_path / 'cuda_tests.xml').write_text(
        '<testsuites><testsuite tests="3" failures="1" errors="0" skipped="1">'
        '<testcase classname="a" name="t1" time="0.5"/>'
        '<testcase classname="a" name="t2" time="1"><failure message="assert 0.1 &lt; 0.01"/></testcase>'
        '<testcase classname="a" name="t3" time="0"><skipped message="slow"/></testcase>'
        '</testsuite></testsuites>')
    (tmp_path / 'benchmark.json').write_text(json.dumps({'models': {}}))
    (tmp_path / 'cuda_tests.log').write_text(
        'tests/test_cuda/test_cuda_focus_l.py FOCUS-L 512x512 bf16 forward on H200: peak 2100 MiB\n.\n')
    result = report_tool.report(str(tmp_path), total_s=353)
    assert not result['ok'] and result['stages'][1] == {'stage': 'build_mmcv', 'exit_code': 0, 'seconds': 301,
                                                        'timed_out': False}
    tests = result['cuda_tests']
    assert (tests['passed'], tests['failures'], tests['skipped']) == (1, 1, 1)
    assert tests['cases'][1]['message'] == 'assert 0.1 < 0.01'
    assert result['benchmark'] == {'models': {}}
    assert result['cuda_test_prints'] == ['FOCUS-L 512x512 bf16 forward on H200: peak 2100 MiB']


@pytest.mark.usefixtures('one_thread')
def test_benchmark_cpu_path_writes_the_json(tmp_path):
    bench = load_tool('analysis_tools', 'gpu_benchmark')
    out = tmp_path / 'bench.json'
    rc = bench.main(['--device', 'cpu', '--shape', '64', '96', '--train-batch', '2', '--infer-batches', '1',
                     '2',
                     '--iters', '1', '--warmup', '0', '--matmul-size', '64', '--models', MINI,
                     'configs/focus/no_such_config.py', '--json', str(out)])
    result = json.load(open(out))
    assert rc == 1  # the missing config is reported, the mini model still measured
    assert 'error' in result['models']['configs/focus/no_such_config.py']
    mini = result['models'][MINI]
    assert mini['train']['loss_finite'] and mini['train']['batch_size'] == 2
    assert mini['train']['precision'] == 'float32' and mini['train']['peak_mb'] > 0
    assert set(mini['inference']) == {'1', '2'} and mini['inference']['2']['images_per_s'] > 0
    assert result['matmul_gflops']['float32'] > 0 and result['machine']['device'] == 'cpu'


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='a GPU is there: the cuda tests run instead of skipping')
def test_cuda_tests_are_collected_and_skip_with_a_reason():
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-m', 'cuda',
                           '-rs',
                           'tests/test_cuda'], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'needs a CUDA GPU' in proc.stdout
    skipped = int(proc.stdout.strip().splitlines()[-1].split(' skipped')[0].split()[-1])
    assert skipped >= 9 and ' passed' not in proc.stdout.splitlines()[-1]


@pytest.mark.slow
def test_train_step_memory_runs_each_variant_in_a_fresh_process(tmp_path):
    """tools/analysis_tools/train_step_memory.py on the mini config at 64 x 80: both variants, same loss."""
    out = tmp_path / 'memory.json'
    proc = subprocess.run([sys.executable, 'tools/analysis_tools/train_step_memory.py', MINI, '--shape', '64',
                           '80', '--batch-size', '2', '--threads', '1', '--json', str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    plain, cp = json.load(open(out))
    assert (plain['variant'], cp['variant']) == ('plain', 'cp')
    assert cp['cfg_options'] == {'model.backbone.with_cp': True, 'model.neck.with_cp': True}
    assert plain['loss'] == pytest.approx(cp['loss'], rel=1e-5) and plain['loss_finite']
    assert plain['peak_mb'] > plain['model_mb'] > 0 and plain['input'] == [2, 6, 64, 80]
    assert plain['param_state_mb'] == pytest.approx(plain['trainable_params'] * 12 / 2**20)
    assert 'cp / plain: peak' in proc.stdout
