"""Export a focus_mm model's inference path to ONNX, check the file and print its parity with PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out model.onnx [--shape H W] [--dynamic]
        [--quantize dynamic] [--opset 17] [--threads N] [--task TASK]

The graph: ``image`` (B x 3 x H x W, RGB, normalised as the config's data preprocessor does) and, when the
model has the edge enhancer, ``edge`` (the normalised edge-blended image of the ``EdgePrior`` transform)
-> ``logits`` (B x 1 x H x W; ``sigmoid`` = foreground probability, ``> 0`` = the mask). The M0 prior is
in the graph (power iteration instead of eigh, see ``focus_mm/models/utils/pca_prior.py``); mmcv's
deformable attention runs its PyTorch path (``GridSample``, opset >= 16).

Without CHECKPOINT the model has random weights (for trying the path; parity holds all the same).
``--shape`` is the input size of the graph (default: the config's ``crop_size``); use a multiple of 32
(the data preprocessor's padding unit) to match the PyTorch backend on images of that size.
``--dynamic`` asks for a dynamic batch, height and width and checks the parity at another size and
batch; the tracer turns shape-derived values into constants (docs/user_guides/deployment.md says which), and when the
graph does not follow another height/width the tool re-exports it with a dynamic batch only, saying so.
A graph of fixed size takes only that size: ``FocusInferencer`` resizes every image to it.
A universal checkpoint is exported one task at a time (``--task cod``: a graph has no task input); the
file's metadata records the task, and the ONNX Runtime backend serves only that task.

Printed: the file's size and node count, ``onnx.checker`` passing, and on a random input the largest
absolute logit difference and the share of equal binary-mask pixels against PyTorch (with the same
power-iteration prior, and with PyTorch's default eigh prior). ``--quantize dynamic`` also writes
``<out>.int8.onnx`` (onnxruntime's dynamic int8 quantisation) and its parity.
"""
import argparse
import os
import os.path as osp
import sys
import time

import torch

from focus_mm.utils.cli import add_cfg_options, load_config

# Parity targets of docs/user_guides/deployment.md: beyond them the export is reported as failed.
MAX_LOGIT_DIFF = 1e-4
MIN_MASK_AGREEMENT = 0.999


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a focus_mm model to ONNX')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', nargs='?', help='model checkpoint (.pth); random weights without it')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="graph input size (default: the config's crop_size)")
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic batch, and height/width if the graph follows them (checked)')
    parser.add_argument('--batch-size', type=int, default=1, help='batch of the exported graph (default 1)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (>= 16; default 17)')
    parser.add_argument('--quantize', choices=['dynamic'], help='also write <out>.int8.onnx (dynamic int8)')
    parser.add_argument('--threads', type=int, help="threads for the parity runs (default: torch's)")
    parser.add_argument('--no-parity', action='store_true', help='skip the parity check')
    parser.add_argument('--task', help='the task to export a universal checkpoint for (required there): '
                        'sod, cod, sd, dbd or fd; a single-task checkpoint ignores it (with a warning '
                        'when it differs)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random weights (without CHECKPOINT) and of the parity input')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.shape and min(args.shape) < 32:
        parser.error(f'--shape must be at least 32 x 32, got {args.shape}')
    return args


def build_model(config: str, checkpoint, cfg_options=None, task=None):
    """The config's model without downloads, with the checkpoint's weights (strict) or random ones, set to
    decode ``task`` (a universal model must be given one)."""
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
        set_inference_task(model, task, loaded, cfg)
    except ValueError as err:  # a universal model without a task, or with one it does not know
        raise SystemExit(f'{checkpoint or config}: {err}')
    return cfg, model.eval()


def default_shape(cfg):
    crop = cfg.get('crop_size', (512, 512))
    return (crop, crop) if isinstance(crop, int) else tuple(crop)


def check_parity(parity: dict) -> bool:
    return parity['max_abs_diff'] <= MAX_LOGIT_DIFF and parity['mask_agreement'] >= MIN_MASK_AGREEMENT


def print_parity(tag: str, parity: dict) -> bool:
    ok = check_parity(parity)
    print(f'[pytorch2onnx] parity {tag}: max |logit diff| {parity["max_abs_diff"]:.2e} (target <= '
          f'{MAX_LOGIT_DIFF:.0e}), equal mask pixels {parity["mask_agreement"]:.5%} (target >= '
          f'{MIN_MASK_AGREEMENT:.1%}) -> {"ok" if ok else "FAILED"}; against PyTorch with the eigh prior: '
          f'{parity["max_abs_diff_eigh"]:.2e}, {parity["mask_agreement_eigh"]:.5%}')
    return ok


def main(argv=None) -> int:
    args = parse_args(argv)
    from focus_mm.apis.export import export_onnx, onnx_parity

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # reproducible random weights: a later run can rebuild the same model
    cfg, model = build_model(args.config, args.checkpoint, args.cfg_options, args.task)
    shape = tuple(args.shape) if args.shape else default_shape(cfg)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    start = time.perf_counter()
    names = export_onnx(model, args.out, shape, batch_size=args.batch_size, dynamic_batch=args.dynamic,
                        dynamic_hw=args.dynamic, opset_version=args.opset)
    kind = 'dynamic batch/height/width' if args.dynamic else 'fixed'
    if args.dynamic:
        other = (shape[0] + 32, shape[1] + 64)
        try:
            follows = check_parity(onnx_parity(model, args.out, other, args.batch_size, seed=args.seed + 1,
                                              threads=args.threads))
        except Exception as err:  # onnxruntime raises its own error types on shape conflicts
            follows = False
            print(f'[pytorch2onnx] --dynamic: the graph does not run at {other[0]}x{other[1]}: '
                  f'{str(err).splitlines()[0][:300]}')
        if not follows:
            print('[pytorch2onnx] --dynamic: height/width cannot be dynamic (shape-derived values became '
                  'constants, see docs/user_guides/deployment.md); exporting with a dynamic batch and a fixed size')
            names = export_onnx(model, args.out, shape, batch_size=args.batch_size, dynamic_batch=True,
                                opset_version=args.opset)
            kind = 'dynamic batch, fixed size'
    import onnx
    graph = onnx.load(args.out, load_external_data=False).graph
    size_mb = osp.getsize(args.out) / 2**20
    print(f'[pytorch2onnx] wrote {args.out} ({size_mb:.1f} MB, {len(graph.node)} nodes, '
          f'opset {args.opset}) in {time.perf_counter() - start:.1f} s; inputs {names} '
          f'{args.batch_size} x 3 x {shape[0]} x {shape[1]} ({kind}) -> logits; '
          f'onnx.checker: ok; weights: {args.checkpoint or "random (no checkpoint)"}'
          + (f'; task: {model.decode_head.inference_task}' if model.decode_head.tasks else ''))
    ok = True
    if not args.no_parity:
        ok = print_parity(f'at {shape[0]}x{shape[1]}',
                          onnx_parity(model, args.out, shape, args.batch_size, seed=args.seed,
                                      threads=args.threads))
        if args.dynamic:
            ok &= print_parity(f'at {shape[0]}x{shape[1]}, batch {args.batch_size + 1}',
                               onnx_parity(model, args.out, shape, args.batch_size + 1, seed=args.seed + 2,
                                           threads=args.threads))
    if args.quantize == 'dynamic':
        from focus_mm.apis.onnx_backend import quantize_dynamic_int8
        int8_path = osp.splitext(args.out)[0] + '.int8.onnx'
        src_size, dst_size = quantize_dynamic_int8(args.out, int8_path)
        print(f'[pytorch2onnx] wrote {int8_path} (dynamic int8: {src_size / 2**20:.1f} MB -> '
              f'{dst_size / 2**20:.1f} MB)')
        if not args.no_parity:
            parity = onnx_parity(model, int8_path, shape, args.batch_size, seed=args.seed,
                                 threads=args.threads)
            print(f'[pytorch2onnx] int8 against float PyTorch: max |logit diff| '
                  f'{parity["max_abs_diff"]:.3f}, equal mask pixels {parity["mask_agreement"]:.3%} '
                  '(no target: quantisation changes values; '
                  'measure its accuracy on data, docs/user_guides/deployment.md)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
