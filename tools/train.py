"""Train a focus_mm (or any mmseg) model from a config, with mmseg's flags.

Examples:
    python tools/train.py configs/focus/focus_mini_1xb8-300_sod-256x256.py
    python tools/train.py CONFIG --work-dir work_dirs/x --resume          # latest checkpoint in work dir,
                                                                          # else load_from (logged)
    python tools/train.py CONFIG --resume work_dirs/x/iter_2.pth          # a given checkpoint
    bash tools/dist_train.sh CONFIG 2                                     # torchrun; gloo on CPU
"""
import argparse
import os
import os.path as osp

from mmengine.runner import Runner, find_latest_checkpoint

from focus_mm.engine import configure_cpu_launcher
from focus_mm.utils.cli import add_cfg_options, check_work_dir, load_config


def parse_args():
    parser = argparse.ArgumentParser(
        description='Train a segmentor: mmseg\'s tools/train.py (runner_type included) plus what FOCUS '
        'needs: --resume without a file continues from the work dir\'s latest checkpoint (else '
        'load_from, logged); distributed runs without CUDA use gloo; --cfg-options refuses a mistyped '
        'top-level key.')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in the work dir when no path is given')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic mixed precision training (needs a GPU)')
    add_cfg_options(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    configure_cpu_launcher(cfg)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_work_dir(cfg.work_dir)

    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a CUDA GPU (mmengine\'s AmpOptimWrapper); drop it on a CPU.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    resume_note = None
    if args.resume == 'auto':
        # mmengine's meaning of `resume=True` without a file: the latest checkpoint in the work dir, and
        # when there is none, a normal start from `load_from`. Its runner, given resume=True and
        # load_from=None, would start from scratch instead, so the choice is made here and logged.
        latest = find_latest_checkpoint(cfg.work_dir)
        if latest is not None:
            if not osp.isfile(latest):
                record = osp.join(cfg.work_dir, 'last_checkpoint')
                raise SystemExit(f'--resume: {record} names {latest}, which does not exist. Pass --resume '
                                 '<checkpoint> or fix that file.')
            cfg.resume = True
            cfg.load_from = latest
        else:
            cfg.resume = False
            start = (f'load_from={cfg.load_from}' if cfg.get('load_from') else
                     'scratch (the config has no load_from)')
            resume_note = (f'--resume: no checkpoint to resume from in {cfg.work_dir} (no last_checkpoint '
                           f'file); starting from {start}.')
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(f'--resume: checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:  # a custom runner named by the config, as mmseg's tools/train.py builds it
        from mmseg.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    if resume_note:
        runner.logger.warning(resume_note)
    runner.train()


if __name__ == '__main__':
    main()
