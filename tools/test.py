"""Test (evaluate) a checkpoint on a config's test set, with mmseg's flags.

Examples:
    python tools/test.py CONFIG CHECKPOINT                       # prints the metric table
    python tools/test.py CONFIG CHECKPOINT --out preds/          # also writes the predicted masks
    python tools/test.py CONFIG CHECKPOINT --show-dir vis/       # image | prediction pictures
    python tools/test.py UNIVERSAL_CONFIG CHECKPOINT              # every test set with its own task
    python tools/test.py UNIVERSAL_CONFIG CHECKPOINT --task sd     # every test set decoded as shadows
"""
import argparse
import os
import os.path as osp

from mmengine.runner import Runner

from focus_mm.engine import configure_cpu_launcher
from focus_mm.utils.cli import add_cfg_options, check_work_dir, load_config


def parse_args():
    parser = argparse.ArgumentParser(
        description='Test (and eval) a segmentor: mmseg\'s tools/test.py plus what FOCUS needs: the '
        'checkpoint is loaded strictly, --task decodes a universal model as one task, --out writes the '
        'masks, distributed runs without CUDA use gloo.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', type=str,
                        help='folder to write the predicted masks (PNG: 0/255 mask and probability map)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='folder to save the painted images')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    add_cfg_options(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--tta', action='store_true', help='test time augmentation (flip)')
    parser.add_argument('--task', help='universal checkpoints: decode every test image as this task '
                        '(default: each test set its own task; the metrics always follow the test set\'s '
                        'task); a single-task checkpoint ignores it, with a warning when it differs')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise SystemExit('--show/--show-dir need a "visualization" hook in default_hooks '
                         '(dict(type="SegVisualizationHook")).')
    hook = default_hooks['visualization']
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualizer = cfg.visualizer
        visualizer['save_dir'] = args.show_dir
    return cfg


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    configure_cpu_launcher(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_work_dir(cfg.work_dir)
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        if 'tta_pipeline' not in cfg or 'tta_model' not in cfg:
            raise SystemExit(f'--tta: {args.config} defines no tta_pipeline / tta_model.')
        dataset = cfg.test_dataloader.dataset
        for part in dataset.get('datasets', [dataset]):  # a ConcatDataset of test sets, or one set
            part.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        check_work_dir(args.out)
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='SaveForegroundPredictionsHook', out_dir=args.out)]
    # The metric table also goes to the work dir as JSON (ForegroundMetric's output_dir).
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    for evaluator in evaluators:
        if evaluator.get('type') in ('ForegroundMetric', 'MultiTaskForegroundMetric'):
            evaluator.setdefault('output_dir', cfg.work_dir)

    # Load strictly ourselves (mmengine's runner only warns on mismatched keys).
    cfg.load_from = None
    runner = Runner.from_cfg(cfg)
    from focus_mm.apis import load_model_checkpoint, set_inference_task
    model = runner.model
    while hasattr(model, 'module'):  # DDP and/or the TTA wrapper around the segmentor
        model = model.module
    checkpoint = load_model_checkpoint(model, args.checkpoint)
    try:
        set_inference_task(model, args.task, checkpoint, cfg, required=False)
    except ValueError as err:
        raise SystemExit(f'[test] {err}')
    runner.test()


if __name__ == '__main__':
    main()
