"""Score ONNX graphs (and optionally the PyTorch checkpoint) on a config's test set, on the same inputs.

    python tools/deployment/evaluate_onnx.py CONFIG model.onnx [model.int8.onnx ...] [--checkpoint CKPT]

Each ``.onnx`` file runs through ``OnnxRuntimeSegmentor`` (the config's data preprocessor and mmseg's
post-processing) on the config's test dataset, whose pipeline gets the resize that ``FocusInferencer``
uses for a fixed-size graph (every image to the graph's size, then ``EdgePrior``); the config's
``test_evaluator`` (``ForegroundMetric``) scores the maps at the masks' original size. With
``--checkpoint`` the PyTorch model is scored on exactly the same inputs, so the differences are those
of the backend (and of int8 quantisation), not of the resize. Prints one line of metrics per model and,
for each graph, its pixel agreement with the PyTorch masks.
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
    add_cfg_options(parser)
    return parser.parse_args(argv)


def evaluate(cfg, runners: dict, limit=None) -> dict:
    """Metrics of each runner (name -> object with ``test_step``) and their masks, on the test set."""
    from mmengine.dataset import pseudo_collate
    from mmengine.evaluator import Evaluator
    from mmseg.registry import DATASETS, METRICS  # noqa: F401  (registries in scope)

    from focus_mm.apis.onnx_backend import resize_to_graph

    shapes = {getattr(r, 'fixed_shape', None) for r in runners.values()} - {None}
    if len(shapes) != 1:
        raise SystemExit(f'the graphs must share one fixed input size, got {sorted(shapes)}')
    shape = shapes.pop()
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg['pipeline'] = resize_to_graph(dataset_cfg['pipeline'], shape)
    dataset = DATASETS.build(dataset_cfg)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    evaluators = {name: Evaluator(cfg.test_evaluator) for name in runners}
    for evaluator in evaluators.values():
        evaluator.dataset_meta = dataset.metainfo
    masks = {name: [] for name in runners}
    for index in range(count):
        for name, runner in runners.items():
            batch = pseudo_collate([dataset[index]])
            with torch.no_grad():
                outputs = runner.test_step(batch)
            masks[name].append(outputs[0].pred_sem_seg.data.bool().cpu())
            evaluators[name].process(data_samples=outputs, data_batch=batch)
    return {name: evaluators[name].evaluate(count) for name in runners}, masks, shape, count


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
    graphs = {osp.basename(path): OnnxRuntimeSegmentor(cfg, path, threads=args.threads) for path in args.onnx}
    tasks = {graph.task for graph in graphs.values()}
    if len(tasks) > 1:  # graphs of a universal model: one task each
        raise SystemExit(f'evaluate_onnx: the graphs were exported for different tasks '
                         f'{ {name: graph.task for name, graph in graphs.items()} }; score one task at a '
                         'time')
    runners = {}
    if args.checkpoint:
        model = MODELS.build(offline_model_cfg(cfg.model))
        loaded = load_model_checkpoint(model, args.checkpoint)
        # a universal checkpoint decodes the graphs' task (as tools/test.py --task does); each test set
        # keeps its own task's metrics
        set_inference_task(model, tasks.pop(), loaded, cfg, required=False)
        runners['pytorch'] = model.eval()
    runners.update(graphs)
    metrics, masks, shape, count = evaluate(cfg, runners, args.limit)
    print(f'[evaluate_onnx] {count} test images of {args.config}, each resized to the graphs\' '
          f'{shape[0]}x{shape[1]} (as FocusInferencer does for a fixed-size graph)')
    for name, values in metrics.items():
        text = ', '.join(f'{k.split("/")[-1]} {v:.4f}' for k, v in values.items() if isinstance(v, float))
        line = f'[evaluate_onnx] {name}: {text}'
        if 'pytorch' in masks and name != 'pytorch':
            equal = sum(int((a == b).sum()) for a, b in zip(masks[name], masks['pytorch']))
            total = sum(a.numel() for a in masks['pytorch'])
            line += f'; equal mask pixels with pytorch {equal / total:.4%}'
        print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
