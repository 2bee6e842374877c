"""Export a focus_mm model's inference path to ONNX, check the file and print its parity with PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out model.onnx [--fixed] [--shape H W]
        [--task TASK] [--quantize dynamic] [--opset 17] [--threads N]

The graph (``focus_mm.apis.export.OnnxExportWrapper``): ``image`` (B x 3 x H x W, RGB, normalised and
padded as the config's data preprocessor does), ``edge`` with the edge enhancer (the normalised
edge-blended image of ``EdgePrior``), ``img_shape`` with the M0 prior (B x 2: each image's size inside the
padded input), ``task`` for a universal model (B task indices; the file's ``focus_mm.tasks`` metadata
lists the tasks) -> ``logits`` (B x 1 x H x W; ``sigmoid`` = foreground probability, ``> 0`` = the mask).

By default batch, height and width are dynamic: the ONNX Runtime backend runs the config's own test
pipeline (keep-ratio resize, padding) as the PyTorch backend does. ``--fixed`` exports one batch size
and one input size (``--shape``, default the config's ``crop_size``): every image is then resized to it.

Without CHECKPOINT the model has random weights (for trying the path; parity holds all the same).
A universal checkpoint gives one graph for all its tasks; ``--task`` checks the parity on that task
only (default: every task).

Printed: the file's size and node count, ``onnx.checker`` passing, and on random inputs the largest
absolute logit difference against PyTorch (with the same power-iteration M0 prior), its tolerance
(relative to the logits' scale, see ``parity_tolerance``) and the share of equal binary-mask pixels, at
the export size and, for a dynamic graph, at another non-square size with a larger batch and padding.
``--quantize dynamic`` also writes ``<out>.int8.onnx`` (onnxruntime's dynamic int8 quantisation) and its
parity (no target: quantisation changes values).
"""
import argparse
import os
import os.path as osp
import sys
import time

import torch

from focus_mm.utils.cli import add_cfg_options, load_config

# Parity targets (docs/user_guides/deployment.md): beyond them the export is reported as failed.
MAX_LOGIT_DIFF = 1e-4
RELATIVE_LOGIT_DIFF = 2e-6
MIN_MASK_AGREEMENT = 0.999


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a focus_mm model to ONNX')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', nargs='?', help='model checkpoint (.pth); random weights without it')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="graph input size (default: the config's crop_size)")
    parser.add_argument('--fixed', action='store_true',
                        help='one batch size and one input size (--shape); '
                        'default: dynamic batch/height/width')
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic batch, height and width (the default)')
    parser.add_argument('--batch-size', type=int, default=1, help='batch of the exported graph (default 1)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (>= 16; default 17)')
    parser.add_argument('--quantize', choices=['dynamic'], help='also write <out>.int8.onnx (dynamic int8)')
    parser.add_argument('--threads', type=int, help="threads for the parity runs (default: torch's)")
    parser.add_argument('--no-parity', action='store_true', help='skip the parity check')
    parser.add_argument('--task', help='a universal checkpoint: the task to check the parity on (default: '
                        'each of its tasks; the graph takes any of them); a single-task checkpoint '
                        'ignores it (with a warning when it differs)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random weights (without CHECKPOINT) and of the parity input')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.fixed and args.dynamic:
        parser.error('--fixed and --dynamic exclude each other')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.shape and min(args.shape) < 32:
        parser.error(f'--shape must be at least 32 x 32, got {args.shape}')
    return args


def build_model(config: str, checkpoint, cfg_options=None, task=None):
    """The config's model without downloads, with the checkpoint's weights (strict) or random ones, set to
    decode ``task`` (checked against a universal model's tasks; None: each sample's own)."""
    from mmengine.registry import init_default_scope

    import focus_mm  # noqa: F401  (registers the components)
    from focus_mm.apis import load_model_checkpoint, set_inference_task
    from focus_mm.utils import offline_model_cfg
    from mmseg.registry import MODELS

    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(offline_model_cfg(cfg.model))
    loaded = None
    if checkpoint:
        if not osp.isfile(checkpoint):
            raise SystemExit(f'checkpoint not found: {checkpoint}')
        loaded = load_model_checkpoint(model, checkpoint)
    try:
        set_inference_task(model, task, loaded, cfg, required=False)
    except ValueError as err:  # a universal model without a task, or with one it does not know
        raise SystemExit(f'{checkpoint or config}: {err}')
    return cfg, model.eval()


def default_shape(cfg):
    crop = cfg.get('crop_size', (512, 512))
    return (crop, crop) if isinstance(crop, int) else tuple(crop)


def parity_tolerance(logit_scale: float) -> float:
    """The largest logit difference accepted between ONNX Runtime and PyTorch on one input.

    ``MAX_LOGIT_DIFF`` (1e-4) absolute, or ``RELATIVE_LOGIT_DIFF`` (2e-6, ~16 float32 steps) of
    ``logit_scale`` when that is larger: the largest absolute value the logits are computed from (the
    head's last mask logits; ``onnx_parity``). The fused logit is a difference of two log-sums of
    log-sigmoids of those mask logits, so a float32 rounding step of the terms (|mask logit| ~ 500:
    3e-5) survives the subtraction whatever the logit itself is; the two routes round differently
    (reduction orders, fused operators). A real mismatch (a wrong constant, operator or weight) moves
    the logits by far more: the tests change one weight of a graph by 1% and see this check fail.
    """
    return max(MAX_LOGIT_DIFF, RELATIVE_LOGIT_DIFF * logit_scale)


def check_parity(parity: dict) -> bool:
    return (parity['max_abs_diff'] <= parity_tolerance(parity['logit_scale'])
            and parity['mask_agreement'] >= MIN_MASK_AGREEMENT)


def print_parity(tag: str, parity: dict) -> bool:
    ok = check_parity(parity)
    print(f'[pytorch2onnx] parity {tag}: max |logit diff| {parity["max_abs_diff"]:.2e} (tolerance '
          f'{parity_tolerance(parity["logit_scale"]):.1e} at max |logit| {parity["logit_scale"]:.2f}), equal '
          f'mask pixels {parity["mask_agreement"]:.5%} (target >= {MIN_MASK_AGREEMENT:.1%}) -> '
          f'{"ok" if ok else "FAILED"}; against PyTorch with the eigh prior: '
          f'{parity["max_abs_diff_eigh"]:.2e}, {parity["mask_agreement_eigh"]:.5%}')
    return ok


def parity_cases(shape, batch_size: int, dynamic: bool):
    """(tag, shape, batch, img_shape) of the parity runs: the export size, and for a dynamic graph another
    non-square size with one more image and padding at the bottom/right (as a padded batch has)."""
    cases = [(f'at {shape[0]}x{shape[1]}, batch {batch_size}', tuple(shape), batch_size, None)]
    if dynamic:
        other = (shape[0] + 32, shape[1] + 64)
        inner = (other[0] - 20, other[1] - 9)
        cases.append((f'at {other[0]}x{other[1]} (images {inner[0]}x{inner[1]} + padding), batch '
                      f'{batch_size + 1}', other, batch_size + 1, inner))
    return cases


def main(argv=None) -> int:
    args = parse_args(argv)
    from focus_mm.apis.export import export_onnx, onnx_parity
    from focus_mm.apis.onnx_backend import OnnxRuntimeError

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # reproducible random weights: a later run can rebuild the same model
    cfg, model = build_model(args.config, args.checkpoint, args.cfg_options, args.task)
    shape = tuple(args.shape) if args.shape else default_shape(cfg)
    dynamic = not args.fixed
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    start = time.perf_counter()
    names = export_onnx(model, args.out, shape, batch_size=args.batch_size, dynamic_batch=dynamic,
                        dynamic_hw=dynamic, opset_version=args.opset)
    kind = 'dynamic batch/height/width' if dynamic else 'fixed batch and size'
    import onnx
    graph = onnx.load(args.out, load_external_data=False).graph
    size_mb = osp.getsize(args.out) / 2**20
    tasks = list(model.decode_head.tasks) if getattr(model.decode_head, 'tasks', ()) else []
    print(f'[pytorch2onnx] wrote {args.out} ({size_mb:.1f} MB, {len(graph.node)} nodes, '
          f'opset {args.opset}) in {time.perf_counter() - start:.1f} s; inputs {names}, example '
          f'{args.batch_size} x 3 x {shape[0]} x {shape[1]} ({kind}) -> logits; '
          f'onnx.checker: ok; weights: {args.checkpoint or "random (no checkpoint)"}'
          + (f'; tasks (the task input): {tasks}' if tasks else ''))
    check_tasks = ([args.task] if args.task else tasks) or [None]
    ok = True
    try:
        if not args.no_parity:
            for task in check_tasks:
                for tag, size, batch, img_shape in parity_cases(shape, args.batch_size, dynamic):
                    parity = onnx_parity(model, args.out, size, batch, seed=args.seed, threads=args.threads,
                                         task=task, img_shape=img_shape)
                    ok &= print_parity(f'{tag}' + (f', task {task}' if task else ''), parity)
        if args.quantize == 'dynamic':
            from focus_mm.apis.onnx_backend import quantize_dynamic_int8
            int8_path = osp.splitext(args.out)[0] + '.int8.onnx'
            src_size, dst_size = quantize_dynamic_int8(args.out, int8_path)
            print(f'[pytorch2onnx] wrote {int8_path} (dynamic int8: {src_size / 2**20:.1f} MB -> '
                  f'{dst_size / 2**20:.1f} MB)')
            if not args.no_parity:
                parity = onnx_parity(model, int8_path, shape, args.batch_size, seed=args.seed,
                                     threads=args.threads, task=check_tasks[0])
                print(f'[pytorch2onnx] int8 against float PyTorch: max |logit diff| '
                      f'{parity["max_abs_diff"]:.3f}, equal mask pixels {parity["mask_agreement"]:.3%} '
                      '(no target: quantisation changes values; measure its accuracy on data with '
                      'tools/deployment/evaluate_onnx.py)')
    except OnnxRuntimeError as err:  # our message: the node, the cause, what to do
        print(f'[pytorch2onnx] FAILED: {err}', file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
