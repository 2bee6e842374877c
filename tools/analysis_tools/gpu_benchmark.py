"""FOCUS against mmseg's Mask2Former on one GPU: a bf16 AMP training step and bf16 inference, one JSON.

    python tools/analysis_tools/gpu_benchmark.py --json gpu_benchmark.json
    python tools/analysis_tools/gpu_benchmark.py --device cpu --shape 64 64 --train-batch 2 \
        --infer-batches 1 2 --models configs/focus/focus_mini_1xb8-300_sod-256x256.py --json out.json

For each model (default: FOCUS DINOv2-L and mmseg's ``mask2former_r50_8xb2-160k_ade20k-512x512.py``, both
at ``--shape``, random weights, nothing downloaded, the CLIP refiner left out) and in one process, so the
ratios between them are measured side by side:

- one training step (``model.train_step``: forward, losses, backward, AdamW step) on a batch of
  ``--train-batch`` synthetic images: the config's optimizer wrapper as ``AmpOptimWrapper`` with
  ``dtype=bfloat16`` on CUDA (a float32 ``OptimWrapper`` on the CPU); seconds per step and peak memory;
- inference (``model.test_step`` under ``torch.autocast(bfloat16)`` on CUDA, float32 on the CPU) at each
  of ``--infer-batches``: images per second and peak memory;
- the device's dense matmul rate (``torch.mm`` 4096^2 in float32 and bfloat16) as the hardware reference.

Memory is the CUDA allocator's peak (``max_memory_allocated``) on a GPU and the sampled process RSS on the
CPU (``focus_mm.utils.benchmarking.PeakMemory``). ``--models`` takes config paths; a name without a path
is looked up in mmseg's own configs (``mask2former/...``). A model that fails is reported with its error
in the JSON and
the others still run.
"""
import argparse
import json
import os.path as osp
import sys
import time
import traceback
from typing import Dict, List, Optional, Sequence

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOCUS_L = 'configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py'
MASK2FORMER_R50 = 'mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py'


def resolve_config(path: str) -> str:
    """A repository path, or ``mmseg::<dir>/<file>`` from mmseg's installed configs."""
    if path.startswith('mmseg::'):
        import mmseg
        return osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', path[len('mmseg::'):])
    return path if osp.isabs(path) else osp.join(REPO, path)


def build(config: str, device: str):
    """``(model, cfg)``: the config's model with random weights, no downloads, on ``device``."""
    from mmengine.registry import init_default_scope

    import focus_mm  # noqa: F401  (registers the components)
    from focus_mm.utils.cli import load_config
    from focus_mm.utils import build_offline_model

    cfg = load_config(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = build_offline_model(cfg.model)
    return model.to(device), cfg


def optim_wrapper(model, cfg, device: str):
    """The config's optimizer (and paramwise rules) in a bf16 ``AmpOptimWrapper`` on CUDA, float32 off it."""
    from mmengine.optim import build_optim_wrapper
    wrapper_cfg = dict(cfg.optim_wrapper)
    for key in ('loss_scale', 'dtype'):
        wrapper_cfg.pop(key, None)
    if device.startswith('cuda'):
        wrapper_cfg.update(type='AmpOptimWrapper', dtype='bfloat16')
    else:
        wrapper_cfg['type'] = 'OptimWrapper'
    return build_optim_wrapper(model, wrapper_cfg)


def matmul_rates(device: str, n: int) -> Dict[str, float]:
    """Dense ``torch.mm`` GFLOP/s (best of 5) in float32 and, on CUDA, bfloat16."""
    from focus_mm.utils import benchmarking as benchmark
    rates = {'float32': benchmark.matmul_gflops(n, device=device)[0]}
    if device.startswith('cuda'):
        a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
        torch.mm(a, a)
        best = float('inf')
        for _ in range(5):
            torch.cuda.synchronize()
            start = time.perf_counter()
            torch.mm(a, a)
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
        rates['bfloat16'] = 2 * n**3 / 1e9 / best
    return rates


def bench_model(config: str, device: str, shape, train_batch: int, infer_batches: Sequence[int],
                iters: int, warmup: int) -> Dict:
    from focus_mm.utils import benchmarking as benchmark

    path = resolve_config(config)
    model, cfg = build(path, device)
    channels = benchmark.input_channels(model)
    out = {'config': config, 'params': sum(p.numel() for p in model.parameters()), 'channels': channels}
    autocast = (torch.autocast('cuda', dtype=torch.bfloat16) if device.startswith('cuda')
                else torch.autocast('cpu', enabled=False))
    if train_batch > 0:
        batch, _ = benchmark.synthetic_batch(shape, train_batch, channels, with_gt=True)
        wrapper = optim_wrapper(model, cfg, device)
        model.train()
        losses = {}

        def train_step():
            losses.update(model.train_step(batch, wrapper))

        step = benchmark.time_calls(train_step, iters, warmup, device)
        step.update(batch_size=train_batch, images_per_s=train_batch / step['mean_s'],
                    precision='bf16 AMP' if device.startswith('cuda') else 'float32',
                    loss_finite=bool(all(torch.isfinite(v).all() for v in losses.values())))
        out['train'] = step
        del wrapper
        model.zero_grad(set_to_none=True)
    model.eval()
    out['inference'] = {}
    for size in infer_batches:
        batch, _ = benchmark.synthetic_batch(shape, size, channels, with_gt=False)

        def test_step():
            with torch.no_grad(), autocast:
                model.test_step(batch)

        result = benchmark.time_calls(test_step, iters, warmup, device)
        result.update(images_per_s=size / result['mean_s'],
                      precision='bf16 autocast' if device.startswith('cuda') else 'float32')
        out['inference'][str(size)] = result
    return out


def run(models: Sequence[str], device: str, shape=(512, 512), train_batch: int = 4,
        infer_batches: Sequence[int] = (1, 8), iters: int = 5, warmup: int = 2,
        matmul_size: int = 4096) -> Dict:
    from focus_mm.utils import benchmarking as benchmark
    result = {'machine': benchmark.machine_info(device, torch.get_num_threads()),
              'date_utc': time.strftime('%Y-%m-%d %H:%M', time.gmtime()),
              'shape': list(shape), 'matmul_size': matmul_size,
              'matmul_gflops': matmul_rates(device, matmul_size), 'models': {}}
    if device.startswith('cuda'):
        result['machine']['cuda'] = torch.version.cuda
        result['machine']['memory_gib'] = torch.cuda.get_device_properties(0).total_memory / 2**30
    for config in models:
        try:
            result['models'][config] = bench_model(config, device, shape, train_batch, infer_batches, iters,
                                                   warmup)
        except (Exception, SystemExit) as err:  # report and go on with the next model
            result['models'][config] = {'error': f'{type(err).__name__}: {err}',
                                        'traceback': traceback.format_exc()[-3000:]}
        if device.startswith('cuda'):
            torch.cuda.empty_cache()
    names = [m for m in models if 'train' in result['models'][m]]
    if len(names) == 2:  # the first model relative to the second, side by side
        first, second = (result['models'][m] for m in names)
        result['ratios_first_over_second'] = {
            'train_step_time': first['train']['mean_s'] / second['train']['mean_s'],
            'train_peak_memory': first['train']['peak_mb'] / second['train']['peak_mb'],
            **{f'inference_images_per_s_batch{b}': first['inference'][b]['images_per_s']
               / second['inference'][b]['images_per_s'] for b in first['inference']}}
    return result


def format_report(r: Dict) -> str:
    m = r['machine']
    lines = [f'{m.get("name")} ({m["device"]}, torch {m["torch"]}); matmul {r["matmul_size"]}^2: '
             + ', '.join(f'{k} {v:.0f} GFLOP/s' for k, v in r['matmul_gflops'].items())
             + f'; input {r["shape"][0]} x {r["shape"][1]}']
    for name, s in r['models'].items():
        if 'error' in s:
            lines.append(f'  {name}: FAILED {s["error"]}')
            continue
        lines.append(f'  {name} ({s["params"]:,} parameters)')
        if 'train' in s:
            t = s['train']
            lines.append(f'    train step ({t["precision"]}, batch {t["batch_size"]}): '
                         f'{t["mean_s"] * 1e3:.1f} ms, '
                         f'peak {t["peak_mb"]:.0f} MB ({t["memory_kind"]}), loss finite: {t["loss_finite"]}')
        for size, i in s['inference'].items():
            lines.append(f'    inference ({i["precision"]}, batch {size}): {i["images_per_s"]:.2f} images/s, '
                         f'peak {i["peak_mb"]:.0f} MB')
    for key, value in r.get('ratios_first_over_second', {}).items():
        lines.append(f'  first / second model, {key}: {value:.2f}')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=[FOCUS_L, MASK2FORMER_R50])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--train-batch', type=int, default=4, help='0: no training step')
    parser.add_argument('--infer-batches', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--iters', type=int, default=5, help='timed runs of each measurement')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs first')
    parser.add_argument('--matmul-size', type=int, default=4096)
    parser.add_argument('--json', help='write the results here')
    args = parser.parse_args(argv)
    result = run(args.models, args.device, tuple(args.shape), args.train_batch, args.infer_batches,
                 args.iters, args.warmup, args.matmul_size)
    print(format_report(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    failed = [name for name, s in result['models'].items() if 'error' in s]
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
