"""Score ONNX graphs (and optionally the PyTorch checkpoint) on a config's test set, on the same inputs.

    python tools/deployment/evaluate_onnx.py CONFIG model.onnx [model.int8.onnx ...] [--checkpoint CKPT]
        [--task TASK] [--per-image] [--limit N]

Each ``.onnx`` file runs through ``OnnxRuntimeSegmentor`` (the config's data preprocessor and mmseg's
post-processing) on the config's test dataset: a dynamic graph with the config's own test pipeline, a
fixed graph with every image resized to its size (as ``FocusInferencer`` does). ``--task`` decodes a
universal model's graph (and checkpoint) as that task, on that task's test set. The config's
``test_evaluator`` scores the maps at the masks' original size. With ``--checkpoint`` the PyTorch model
is scored on exactly the same inputs, so the differences are those of the backend (and of int8
quantisation). Prints one line of metrics per model and, for each graph, its pixel agreement with the
PyTorch masks and its worst image (fewest equal mask pixels); ``--per-image`` prints every image's equal
mask pixels and largest absolute probability difference.
"""
import argparse
import os.path as osp
import sys

import torch

from focus_mm.utils.cli import add_cfg_options, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Score ONNX graphs on a config\'s test set')
    parser.add_argument('config')
    parser.add_argument('onnx', nargs='+', help='.onnx files exported from this config (same input size)')
    parser.add_argument('--checkpoint', help='also score this PyTorch checkpoint on the same inputs')
    parser.add_argument('--threads', type=int, help="torch and ONNX Runtime threads (default: torch's)")
    parser.add_argument('--limit', type=int, help='only the first N test images')
    parser.add_argument('--task', help="a universal model's task: its test set is scored, decoded as it")
    parser.add_argument('--per-image', action='store_true',
                        help='print each image\'s equal mask pixels and max |prob diff| against pytorch')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def evaluate(cfg, runners: dict, limit=None, task=None) -> tuple:
    """Metrics of each runner (name -> object with ``test_step``) and their masks, on the test set."""
    from mmengine.dataset import pseudo_collate
    from mmengine.evaluator import Evaluator
    from mmseg.registry import DATASETS, METRICS  # noqa: F401  (registries in scope)

    from focus_mm.apis.onnx_backend import resize_to_graph

    shapes = {getattr(r, 'fixed_shape', None) for r in runners.values() if hasattr(r, 'fixed_shape')}
    if len(shapes) != 1:
        raise SystemExit('the graphs must share one input size (or all be dynamic), '
                         f'got {sorted(map(str, shapes))}')
    shape = shapes.pop()
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    if task is not None and 'datasets' in dataset_cfg:  # a universal config: the task's own test set
        dataset_cfg = next(d for d in dataset_cfg['datasets'] if d.get('task') == task).copy()
    if shape is not None:  # a fixed graph: every image resized to its size (as FocusInferencer does)
        dataset_cfg['pipeline'] = resize_to_graph(dataset_cfg['pipeline'], shape)
    dataset = DATASETS.build(dataset_cfg)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    evaluators = {name: Evaluator(cfg.test_evaluator) for name in runners}
    for evaluator in evaluators.values():
        evaluator.dataset_meta = dataset.metainfo
    masks = {name: [] for name in runners}
    probs = {name: [] for name in runners}
    paths = []
    for index in range(count):
        item = dataset[index]
        paths.append(item['data_samples'].metainfo.get('img_path', str(index)))
        for name, runner in runners.items():
            batch = pseudo_collate([item])
            with torch.no_grad():
                outputs = runner.test_step(batch)
            masks[name].append(outputs[0].pred_sem_seg.data.bool().cpu())
            probs[name].append(outputs[0].seg_logits.data.float().cpu())
            evaluators[name].process(data_samples=outputs, data_batch=batch)
    metrics = {name: evaluators[name].evaluate(count) for name in runners}
    return metrics, masks, probs, paths, shape, count


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.registry import init_default_scope

    import focus_mm  # noqa: F401
    from focus_mm.apis import load_model_checkpoint, set_inference_task
    from focus_mm.apis.onnx_backend import OnnxRuntimeSegmentor
    from focus_mm.utils import offline_model_cfg
    from mmseg.registry import MODELS

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    graphs = {osp.basename(path): OnnxRuntimeSegmentor(cfg, path, threads=args.threads, task=args.task)
              for path in args.onnx}
    tasks = {graph.task for graph in graphs.values()}
    if len(tasks) > 1:  # older graphs of a universal model without task input: one task each
        raise SystemExit(f'evaluate_onnx: the graphs were exported for different tasks '
                         f'{ {name: graph.task for name, graph in graphs.items()} }; score one task at a '
                         'time')
    task = tasks.pop()
    runners = {}
    if args.checkpoint:
        model = MODELS.build(offline_model_cfg(cfg.model))
        loaded = load_model_checkpoint(model, args.checkpoint)
        # a universal checkpoint decodes the graphs' task (as tools/test.py --task does)
        set_inference_task(model, task, loaded, cfg, required=False)
        runners['pytorch'] = model.eval()
    runners.update(graphs)
    metrics, masks, probs, paths, shape, count = evaluate(cfg, runners, args.limit, task)
    inputs = ('with the config\'s test pipeline (dynamic graphs)' if shape is None else
              f'each resized to the graphs\' {shape[0]}x{shape[1]} '
              '(as FocusInferencer does for a fixed graph)')
    print(f'[evaluate_onnx] {count} test images of {args.config}' + (f' (task {task})' if task else '')
          + f', {inputs}')
    for name, values in metrics.items():
        text = ', '.join(f'{k.split("/")[-1]} {v:.4f}' for k, v in values.items() if isinstance(v, float))
        line = f'[evaluate_onnx] {name}: {text}'
        if 'pytorch' in masks and name != 'pytorch':
            equal = sum(int((a == b).sum()) for a, b in zip(masks[name], masks['pytorch']))
            total = sum(a.numel() for a in masks['pytorch'])
            per_image = [((a == b).float().mean().item(), (p - q).abs().max().item(), path)
                         for a, b, p, q, path in zip(masks[name], masks['pytorch'], probs[name],
                                                     probs['pytorch'], paths)]
            worst = min(per_image, key=lambda item: (item[0], -item[1]))
            line += (f'; equal mask pixels with pytorch {equal / total:.4%}; worst image '
                     f'{osp.basename(worst[2])}: {worst[0]:.4%} equal, max |prob diff| {worst[1]:.2e}; '
                     f'largest max |prob diff| {max(p[1] for p in per_image):.2e}')
            if args.per_image:
                for agreement, diff, path in per_image:
                    print(f'[evaluate_onnx]   {name} {osp.basename(path)}: '
                          f'equal mask pixels {agreement:.4%}, max |prob diff| {diff:.2e}')
        print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
