"""Peak memory of ONE training step, with and without activation checkpointing, each in a fresh process.

    python tools/analysis_tools/train_step_memory.py configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py \
        --shape 512 512 --batch-size 2 [--variants plain cp] [--json memory.json]

Each variant runs in its own child process (the same command with ``--child``), so one variant's freed
memory cannot hide the other's peak. A child builds the config's model with random weights (no downloads;
the CLIP refiner is left out, as in ``benchmark.py``), makes one synthetic batch (random smooth images
through ``EdgePrior``, elliptic masks), runs ``model.train_step`` once (forward, losses, backward, the
config's optimizer step: AdamW state is allocated then) and reports:

- ``model_mb``: resident memory after building the model (weights, libraries);
- ``peak_mb``: the process's peak (on CPU ``getrusage`` ``ru_maxrss``: the high-water mark of resident
  memory over the whole process; on CUDA the allocator's ``max_memory_allocated``);
- ``step_mb`` = ``peak_mb - model_mb``: what the step adds (activations, gradients, optimizer state);
- ``param_state_mb``: trainable parameters x 12 bytes (float32 gradient + AdamW's two moments), the
  part of ``step_mb`` that checkpointing cannot remove;
- the loss (the variants must agree: same seed, same weights).

Variant ``cp`` sets ``model.backbone.with_cp=True model.neck.with_cp=True`` (the DINOv2 blocks and the
adapter's injectors/extractors recompute their activations in the backward pass), ``plain`` sets both to
False. On CPU the AMP optimizer wrapper becomes a float32 one.
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from typing import Dict, List, Optional

import torch


VARIANTS = {
    'plain': {'model.backbone.with_cp': False, 'model.neck.with_cp': False},
    'cp': {'model.backbone.with_cp': True, 'model.neck.with_cp': True},
}


def _rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def measure(config: str, variant: str, shape=(512, 512), batch_size: int = 2, device: str = 'cpu',
            threads: Optional[int] = None, cfg_options: Optional[dict] = None, seed: int = 0) -> Dict:
    """One training step of ``config`` in this process; the numbers of the module docstring."""
    from focus_mm.utils.benchmarking import build_model, build_optim_wrapper, input_channels, synthetic_batch
    from focus_mm.utils.cli import load_config

    if threads:
        torch.set_num_threads(threads)
    options = dict(cfg_options or {})
    options.update(VARIANTS[variant])
    torch.manual_seed(seed)
    cfg = load_config(config, options)
    model = build_model(config, options, device)
    channels = input_channels(model)
    batch, _ = synthetic_batch(shape, batch_size, channels, with_gt=True, seed=seed)
    optim_wrapper, note = build_optim_wrapper(model, cfg, device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        model_mb = torch.cuda.memory_allocated() / 2**20
    else:
        model_mb = _rss_mb()
    model.train()
    start = time.perf_counter()
    losses = model.train_step(batch, optim_wrapper)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = _max_rss_mb()
    seconds = time.perf_counter() - start
    loss = float(losses['loss'].detach())  # the total that was back-propagated
    out = {'config': config, 'variant': variant, 'cfg_options': VARIANTS[variant], 'device': device,
           'threads': torch.get_num_threads(), 'input': [batch_size, channels, *shape],
           'memory_kind': 'cuda_allocated' if device.startswith('cuda') else 'process_max_rss',
           'model_mb': model_mb, 'peak_mb': peak_mb, 'step_mb': peak_mb - model_mb,
           'trainable_params': trainable, 'param_state_mb': trainable * 12 / 2**20,
           'step_s': seconds, 'loss': loss, 'loss_finite': bool(torch.isfinite(torch.tensor(loss)))}
    if note:
        out['note'] = note
    return out


def run_variants(config: str, variants: List[str], argv_rest: List[str]) -> List[Dict]:
    """Each variant in a fresh ``python <this file> --child`` process; their JSON results."""
    results = []
    for variant in variants:
        cmd = [sys.executable, osp.abspath(__file__), config, '--child', '--variants', variant, *argv_rest]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise SystemExit(f'train_step_memory.py: the {variant!r} child failed (exit {proc.returncode}): '
                             f'{" ".join(cmd)}')
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


def format_table(results: List[Dict]) -> str:
    first = results[0]
    lines = [f'{first["config"]}: one training step, input {" x ".join(map(str, first["input"]))}, '
             f'{first["device"]}, {first["threads"]} threads, memory = {first["memory_kind"]}',
             f'  {"variant":8s} {"model MB":>9s} {"peak MB":>9s} {"step MB":>9s} {"param state MB":>15s} '
             f'{"step s":>8s} {"loss":>10s}']
    for r in results:
        lines.append(f'  {r["variant"]:8s} {r["model_mb"]:9.0f} {r["peak_mb"]:9.0f} {r["step_mb"]:9.0f} '
                     f'{r["param_state_mb"]:15.0f} {r["step_s"]:8.1f} {r["loss"]:10.4f}')
    by = {r['variant']: r for r in results}
    if 'plain' in by and 'cp' in by:
        lines.append(f'  cp / plain: peak {by["cp"]["peak_mb"] / by["plain"]["peak_mb"]:.3f}, '
                     f'step {by["cp"]["step_mb"] / by["plain"]["step_mb"]:.3f}, '
                     f'time {by["cp"]["step_s"] / by["plain"]["step_s"]:.2f}')
    return '\n'.join(lines)


def main(argv=None) -> int:
    from focus_mm.utils.cli import add_cfg_options

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--variants', nargs='+', choices=sorted(VARIANTS), default=['plain', 'cp'])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int)
    parser.add_argument('--json', help='write the results here')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.config, args.variants[0], tuple(args.shape), args.batch_size,
                                 args.device, args.threads, args.cfg_options)))
        return 0
    rest = ['--shape', *map(str, args.shape), '--batch-size', str(args.batch_size), '--device', args.device]
    if args.threads:
        rest += ['--threads', str(args.threads)]
    if args.cfg_options:
        rest += ['--cfg-options', *(f'{k}={v}' for k, v in args.cfg_options.items())]
    results = run_variants(args.config, args.variants, rest)
    print(format_table(results))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
