"""Speed, memory and hardware efficiency of a FOCUS model on this machine (synthetic inputs).

    python tools/analysis_tools/benchmark.py configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py \
        --shape 512 512 --iters 3 --warmup 1 --train-iters 2 [--json bench.json]
    python tools/analysis_tools/benchmark.py CONFIG --shape 256 256 --backend pytorch onnxruntime --threads 2

Prints, for one configuration and one device:

- the machine's dense matmul rate (``torch.mm`` of two n x n float32 matrices, best of several runs,
  2 n^3 / t) at the same thread count: the practical hardware limit;
- inference (``model.test_step``: normalisation, padding, forward, the foreground map at the input
  size): latency per batch (mean / median / min), images/s, peak memory;
- one training step (``model.train_step``: forward, losses, backward, optimizer step), time and peak
  memory;
- FLOPs per image from ``get_flops.py`` (same input size), the achieved GFLOP/s (FLOPs / time) and the
  **efficiency ratio** = achieved GFLOP/s / matmul GFLOP/s. For training the FLOPs are estimated as
  3 x the forward's (backward ~ 2 x forward), and marked so.

Inputs: a random smooth uint8 image through the real ``EdgePrior`` transform (its cost per image is
reported too) and, for training, a random elliptic foreground mask. Weights are random (speed does not
depend on them); pretrained files and the CLIP refiner are left out (nothing is downloaded), so the
training step has no CLIP loss. On CPU, AMP optimizer wrappers are replaced by a plain one.

Backends (``--backend pytorch onnxruntime``): inference only, both backends in one run on the same
synthetic batch and the same thread count (torch's threads = ONNX Runtime's intra-op threads, inter-op
off); each runs its whole ``test_step`` (data preprocessor, network, mmseg's post-processing), the
ONNX graph being exported from the same weights at ``--shape`` (or ``--onnx FILE [FILE ...]``).
``--graph dynamic fixed`` exports both graphs (dynamic batch/height/width and fixed size) and times each
as its own row (``onnxruntime:dynamic``, ``onnxruntime:fixed``), side by side in one run; ``--checkpoint``
loads trained weights into the model the graphs are exported from. Prints per backend the latency,
images/s, the memory the model/session took when loaded and the peak during the runs, the latency ratio
of each graph, and how far each graph's output is from PyTorch's. Nothing else (training, FLOPs) runs.

Memory: on CUDA the allocator's peak (``max_memory_allocated``); on CPU the peak resident set size of
the process sampled every 5 ms over the warm-up and timed runs, and its increase over the size before
them (activations and workspace; for training also gradients and optimizer state).
"""
import argparse
import os.path as osp
import sys
from typing import Optional

import torch

from focus_mm.utils import benchmarking
from focus_mm.utils.benchmarking import (benchmark_inference, benchmark_train, machine_info, matmul_gflops,
                                         rss_bytes, synthetic_batch, time_calls)
from focus_mm.utils.cli import add_model_input_arguments, load_config, write_json


def run(config: str, shape=(512, 512), batch_size: int = 1, iters: int = 3, warmup: int = 1,
        train_iters: int = 1, train_warmup: int = 1, device: str = 'cpu', threads: Optional[int] = None,
        matmul_size: int = 2048, flops: bool = True, cfg_options: Optional[dict] = None) -> dict:
    """Benchmark one config; returns the numbers as a dict (see the module docstring)."""
    if threads:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    cfg = load_config(config, cfg_options)
    model = benchmarking.build_model(config, cfg_options, device)
    channels = benchmarking.input_channels(model)
    result = {'config': config, 'machine': machine_info(device, threads),
              'input': dict(batch_size=batch_size, channels=channels, height=shape[0], width=shape[1]),
              'params': sum(p.numel() for p in model.parameters())}
    result['matmul_gflops'], result['matmul_gflop_per_cpu_s'] = matmul_gflops(matmul_size, device=device)
    result['matmul_size'] = matmul_size

    batch, edge_ms = synthetic_batch(shape, batch_size, channels, with_gt=train_iters > 0)
    result['edge_prior_ms_per_image'] = edge_ms
    if iters > 0:
        result['inference'] = benchmark_inference(model, batch, iters, warmup, device)
    if flops:
        analysis = benchmarking.analyze(model, shape, 1)
        result['gflops_per_image'] = analysis['gflops']['total']
        result['gflops_by_component'] = analysis['gflops']
    if train_iters > 0:
        result['train'] = benchmark_train(model, cfg, batch, train_iters, train_warmup, device)
    if flops:
        for key, factor in (('inference', 1), ('train', 3)):
            if key in result:
                achieved = factor * result['gflops_per_image'] * result[key]['images_per_s']
                result[key]['achieved_gflops'] = achieved
                result[key]['efficiency'] = achieved / result['matmul_gflops']
                # the same ratio on process CPU time: robust to other processes taking the cores
                per_cpu_s = factor * result['gflops_per_image'] * batch_size / result[key]['mean_cpu_s']
                result[key]['gflop_per_cpu_s'] = per_cpu_s
                result[key]['efficiency_cpu_time'] = per_cpu_s / result['matmul_gflop_per_cpu_s']
                if factor != 1:
                    result[key]['flops_estimate'] = '3 x forward FLOPs'
    return result


def format_report(r: dict) -> str:
    m, i = r['machine'], r['input']
    lines = [f'{r["config"]}', f'  machine: {m.get("name")} ({m["device"]}, {m["threads"]} threads, '
             f'torch {m["torch"]}, load {m.get("load_average_1min", 0):.1f}); params {r["params"]:,}',
             f'  input: {i["batch_size"]} x {i["channels"]} x {i["height"]} x {i["width"]}; '
             f'EdgePrior transform '
             f'{r["edge_prior_ms_per_image"]:.1f} ms/image (data pipeline, not in the timings below)',
             f'  matmul {r["matmul_size"]}x{r["matmul_size"]} fp32: {r["matmul_gflops"]:.1f} GFLOP/s wall, '
             f'{r["matmul_gflop_per_cpu_s"]:.1f} GFLOP per CPU-second (best of 5)']
    if 'gflops_per_image' in r:
        lines.append(f'  model: {r["gflops_per_image"]:.1f} GFLOPs per image forward (get_flops.py)')
    for key, label in (('inference', 'inference'), ('train', 'train step')):
        if key not in r:
            continue
        s = r[key]
        text = (f'  {label}: mean {s["mean_s"] * 1e3:.0f} ms, median {s["median_s"] * 1e3:.0f} ms, '
                f'min {s["min_s"] * 1e3:.0f} ms per batch over {len(s["times_s"])} runs '
                f'(CPU time {s["mean_cpu_s"] * 1e3:.0f} ms); '
                f'{s["images_per_s"]:.3f} images/s; peak {s["peak_mb"]:.0f} MB (+{s["increase_mb"]:.0f} MB, '
                f'{s["memory_kind"]})')
        if 'efficiency' in s:
            text += (f'; {s["achieved_gflops"]:.2f} GFLOP/s = {s["efficiency"]:.1%} of matmul '
                     f'(on CPU time: {s["gflop_per_cpu_s"]:.2f} GFLOP/CPU-s = {s["efficiency_cpu_time"]:.1%})'
                     + (' (FLOPs: 3 x forward, estimate)' if key == 'train' else ''))
        if s.get('note'):
            text += f' [{s["note"]}]'
        lines.append(text)
    return '\n'.join(lines)


# ----------------------------------------------------------------------------- backends side by side
def run_backends(config: str, backends=('pytorch', 'onnxruntime'), shape=(512, 512), batch_size: int = 1,
                 iters: int = 3, warmup: int = 1, threads: Optional[int] = None,
                 onnx_path=None, cfg_options: Optional[dict] = None, graphs=('dynamic', ),
                 checkpoint: Optional[str] = None, matmul_size: int = 2048) -> dict:
    """Inference latency and memory of each backend on the same inputs and threads (CPU; see the
    module docstring).

    Args:
        onnx_path (str | list[str], optional): Given graph files (each timed as its own row); default:
            the graphs of ``graphs`` exported here from the model.
        graphs (tuple[str]): ``'dynamic'`` and/or ``'fixed'``: the graphs exported here.
        checkpoint (str, optional): Weights for the model (default: random).
        matmul_size (int): Size of the ``torch.mm`` reference (the machine's rate at the same threads,
            measured before the backends run).
    """
    import copy
    import tempfile

    from focus_mm.apis.export import export_onnx
    from focus_mm.apis.onnx_backend import OnnxRuntimeSegmentor

    if threads:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    cfg = load_config(config, cfg_options)
    model = benchmarking.build_model(config, cfg_options, 'cpu')
    if checkpoint:
        from focus_mm.apis import load_model_checkpoint
        load_model_checkpoint(model, checkpoint)
    channels = benchmarking.input_channels(model)
    batch, edge_ms = synthetic_batch(shape, batch_size, channels, with_gt=False)
    result = {'config': config, 'machine': machine_info('cpu', threads), 'weights': checkpoint or 'random',
              'input': dict(batch_size=batch_size, channels=channels, height=shape[0], width=shape[1]),
              'params': sum(p.numel() for p in model.parameters()), 'edge_prior_ms_per_image': edge_ms,
              'backends': {}}
    result['matmul_gflops'], result['matmul_gflop_per_cpu_s'] = matmul_gflops(matmul_size, device='cpu')
    result['matmul_size'] = matmul_size
    probs = {}
    onnx_paths = [onnx_path] if isinstance(onnx_path, str) else list(onnx_path or [])
    exported_here = 'onnxruntime' in backends and not onnx_paths
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}  # row name -> graph file
        if exported_here:
            for graph in graphs:
                runs[f'onnxruntime:{graph}'] = osp.join(tmp, f'{graph}.onnx')
                dynamic = graph == 'dynamic'
                export_onnx(model, runs[f'onnxruntime:{graph}'], shape, batch_size=batch_size,
                            dynamic_batch=dynamic, dynamic_hw=dynamic)
            result['onnx'] = (f'{" and ".join(graphs)} graph(s) exported at {shape[0]}x{shape[1]} from '
                              'the same weights')
        elif onnx_paths:
            runs = {f'onnxruntime:{osp.basename(p)}': p for p in onnx_paths}
            result['onnx'] = (f'{", ".join(onnx_paths)} (given files: their weights need not be the '
                              'model\'s, so outputs are not compared)')
        if len(runs) == 1:  # one graph: the row keeps the backend's name
            runs = {'onnxruntime': next(iter(runs.values()))}
        rows = []
        for backend in backends:
            if backend == 'onnxruntime':
                rows += list(runs.items())
            elif backend == 'pytorch':
                rows.append(('pytorch', None))
            else:
                raise ValueError(f'unknown backend {backend!r}: pytorch or onnxruntime')
        for name, path in rows:
            before = rss_bytes()
            if path is None:
                runner = model  # already built: its load_mb is 0 (the weights are in the process anyway)
            else:
                runner = OnnxRuntimeSegmentor(cfg, path, threads=threads)
                if runner.fixed_shape not in (None, tuple(shape)):
                    raise SystemExit(f'--onnx {path} takes {runner.fixed_shape}, not --shape {tuple(shape)}')
            load_mb = (rss_bytes() - before) / 2**20
            data = copy.deepcopy(batch)  # test_step writes its results into the data samples
            samples = []

            def step():
                with torch.no_grad():
                    samples[:] = runner.test_step(data)

            out = time_calls(step, iters, warmup, 'cpu')
            out['images_per_s'] = batch_size / out['mean_s']
            out['load_mb'] = load_mb
            result['backends'][name] = out
            probs[name] = torch.stack([s.seg_logits.data for s in samples])
    if 'pytorch' in probs:
        for name in probs:
            if name == 'pytorch':
                continue
            suffix = name[len('onnxruntime'):]  # '' or ':<graph>'
            result['ratio_pytorch_over_onnxruntime' + suffix] = (result['backends']['pytorch']['mean_s']
                                                                 / result['backends'][name]['mean_s'])
            if exported_here:  # a given --onnx file may hold other weights than the model's: not compared
                torch_prob, ort_prob = probs['pytorch'], probs[name]
                result['max_prob_diff' + suffix] = (torch_prob - ort_prob).abs().max().item()
                agreement = (torch_prob > 0.5) == (ort_prob > 0.5)
                result['mask_agreement' + suffix] = agreement.float().mean().item()
    return result


def format_backends(r: dict) -> str:
    m, i = r['machine'], r['input']
    lines = [f'{r["config"]}',
             f'  machine: {m.get("name")} (cpu, {m["threads"]} threads for both backends, '
             f'torch {m["torch"]}, load {m.get("load_average_1min", 0):.1f}); params {r["params"]:,}; '
             f'{r["weights"]} weights',
             f'  matmul {r["matmul_size"]}x{r["matmul_size"]} fp32 (torch.mm, same threads): '
             f'{r["matmul_gflops"]:.1f} GFLOP/s wall, {r["matmul_gflop_per_cpu_s"]:.1f} GFLOP per CPU-second',
             f'  input: {i["batch_size"]} x {i["channels"]} x {i["height"]} x {i["width"]}, the same batch '
             'for every backend; each timing is the whole test_step (pre-processing, network, '
             'post-processing)',
             f'  {"backend":20s} {"mean ms":>9s} {"median":>9s} {"min":>9s} {"CPU ms":>9s} {"images/s":>9s} '
             f'{"load MB":>8s} {"peak MB":>8s} {"+MB runs":>8s}']
    for name, s in r['backends'].items():
        lines.append(f'  {name:20s} {s["mean_s"] * 1e3:9.1f} {s["median_s"] * 1e3:9.1f} '
                     f'{s["min_s"] * 1e3:9.1f} {s["mean_cpu_s"] * 1e3:9.1f} {s["images_per_s"]:9.3f} '
                     f'{s["load_mb"]:8.0f} {s["peak_mb"]:8.0f} {s["increase_mb"]:8.0f}')
    b = r['backends']
    for name in b:
        suffix = name[len('onnxruntime'):]
        if 'ratio_pytorch_over_onnxruntime' + suffix in r:
            cpu_ratio = b['pytorch']['mean_cpu_s'] / max(b[name]['mean_cpu_s'], 1e-9)
            ratio = r['ratio_pytorch_over_onnxruntime' + suffix]
            lines.append(f'  {name} is {ratio:.2f} x as fast as pytorch (mean latency ratio; '
                         f'{cpu_ratio:.2f} x in process CPU time, which other processes '
                         'on the cores do not change)')
        if 'max_prob_diff' + suffix in r:
            lines.append(f'  {name} outputs: max |probability diff| {r["max_prob_diff" + suffix]:.2e}, equal '
                         f'mask pixels {r["mask_agreement" + suffix]:.4%} (PyTorch: eigh prior, ONNX: power '
                         'iteration)')
    if r.get('onnx'):
        lines.append(f'  onnx: {r["onnx"]}')
    return '\n'.join(lines)


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse what the parser alone cannot (tests/test_docs runs it on the documented commands).

    Args:
        parser (argparse.ArgumentParser): the tool's parser, for its ``error``.
        args (argparse.Namespace): the parsed arguments.
    """
    if 'onnxruntime' in args.backend and args.device != 'cpu':
        parser.error('--backend onnxruntime runs on the CPU: add --device cpu')
    if args.checkpoint and 'onnxruntime' not in args.backend:
        parser.error('--checkpoint is for --backend pytorch onnxruntime (the graphs exported from trained '
                     'weights); speed and FLOPs do not depend on the weights')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_model_input_arguments(parser)  # config, --shape, --batch-size, --threads, --json, ...
    parser.add_argument('--iters', type=int, default=3, help='timed inference runs (0: skip inference)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed inference runs first')
    parser.add_argument('--train-iters', type=int, default=1, help='timed training steps (0: skip)')
    parser.add_argument('--train-warmup', type=int, default=1, help='untimed training steps first')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--matmul-size', type=int, default=2048)
    parser.add_argument('--no-flops', action='store_true', help='skip the FLOP count (no efficiency)')
    parser.add_argument('--backend', nargs='+', choices=['pytorch', 'onnxruntime'], default=['pytorch'],
                        help='with onnxruntime: inference of the listed backends side by side (CPU)')
    parser.add_argument('--onnx', nargs='+', help='.onnx file(s) for --backend onnxruntime, each timed as '
                        'a row (default: exported here from the same weights at --shape)')
    parser.add_argument('--graph', nargs='+', choices=['dynamic', 'fixed'], default=['dynamic'],
                        help='the graphs exported here for --backend onnxruntime (default: dynamic); '
                        '"dynamic fixed" times both side by side')
    parser.add_argument('--checkpoint', help='weights for the model (default: random)')
    args = parser.parse_args(argv)
    check_args(parser, args)
    if 'onnxruntime' in args.backend:
        result = run_backends(args.config, args.backend, tuple(args.shape), args.batch_size, args.iters,
                              args.warmup, args.threads, args.onnx, args.cfg_options, tuple(args.graph),
                              args.checkpoint, args.matmul_size)
        print(format_backends(result))
        write_json(result, args.json)
        return 0
    result = run(args.config, tuple(args.shape), args.batch_size, args.iters, args.warmup, args.train_iters,
                 args.train_warmup, args.device, args.threads, args.matmul_size, not args.no_flops,
                 args.cfg_options)
    print(format_report(result))
    write_json(result, args.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
