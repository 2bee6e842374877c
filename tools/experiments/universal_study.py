"""The universal-vs-single-task study on the mini-benchmark (docs/results/universal.md), end to end.

For each seed: train the universal mini model and the five single-task mini models (same total
iterations; validation during training is skipped, the tests below replace it), test the universal
checkpoint on the five test sets under every task (``tools/test.py --task T``: the diagonal is each set's
own task, the rest the wrong-task rows), test each single-task model on its test set, score the trivial
baselines, score every model on its training images too (the train/test gap: ``gap``), and print the
tables (markdown) that docs/results/universal.md shows. Every step is skipped when its
output exists, so a study can be run in parts (e.g. two processes: ``--only universal wrong`` and
``--only single baselines``) and resumed; ``--only table`` prints what exists. Training saves a checkpoint
every ``--checkpoint-interval`` iterations and always starts with ``tools/train.py --resume``, so a run
that was stopped goes on from its last checkpoint when the same command is run again.

Examples:
    python tools/experiments/universal_study.py --seeds 0 1                     # 1,500 vs 5 x 300
    python tools/experiments/universal_study.py --seeds 0 --universal-iters 500 --single-iters 100
    python tools/experiments/universal_study.py --seeds 0 1 --only gap           # + train/test gap
    python tools/experiments/universal_study.py --seeds 0 1 --only table         # tables of what exists
    python tools/experiments/universal_study.py --seeds 0 1 --tag queries-pixel \
        --universal-options model.neck.tasks=None  # a design variant: own work dirs, same single-task models
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
UNIVERSAL = 'configs/focus/focus-universal_mini_1xb8-1500_all-256x256.py'
SINGLE = 'configs/focus/focus_mini_1xb8-300_{task}-256x256.py'
TASKS = ('sod', 'cod', 'sd', 'dbd', 'fd')
#: the columns of the table: common ground for every task, then each task's own numbers.
COMMON = ('Sm', 'meanEm', 'MAE')
OWN = dict(sod=(), cod=(), sd=('BER', ), dbd=(), fd=('F1', 'AUC'))
STEPS = ('universal', 'single', 'wrong', 'baselines', 'gap', 'table')


def parse_args():
    parser = argparse.ArgumentParser(description='universal vs single-task mini models')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--universal-iters', type=int, default=1500)
    parser.add_argument('--single-iters', type=int, default=300)
    parser.add_argument('--batch-size', type=int,
                        help="training batch size of every model (default: the configs' 8); the work "
                        'dir gets _b<N>')
    parser.add_argument('--work-dir', default='work_dirs/universal_study')
    parser.add_argument('--only', nargs='+', choices=STEPS, default=list(STEPS))
    parser.add_argument('--checkpoint-interval', type=int, default=100,
                        help='iterations between checkpoints, each a point to resume from (default 100)')
    parser.add_argument('--universal-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='extra --cfg-options of the universal model (training and every test), e.g. '
                        'a conditioning design; needs --tag')
    parser.add_argument('--tag', help="the universal work dirs' name suffix "
                        '(universal_<iters>_<tag>_seed<S>); the single-task models are shared with the '
                        'untagged study')
    args = parser.parse_args()
    if args.universal_options and not args.tag:
        parser.error('--universal-options changes the universal model: name the variant with --tag')
    return args


def _schedule_options(iters: int, checkpoint_interval: int) -> list:
    # no validation while training; a checkpoint every `checkpoint_interval` and at the end (save_last)
    return [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}', f'train_cfg.val_begin={iters + 1}',
        f'param_scheduler.0.end={iters}',
        f'default_hooks.checkpoint.interval={min(checkpoint_interval, iters)}'
    ]


def _metric_names(task: str) -> tuple:
    from_task = dict(sod=('Sm', 'meanEm', 'MAE'),
                     cod=('Sm', 'meanEm', 'wFm', 'MAE'),
                     sd=('BER', ),
                     dbd=('adpFm', 'MAE'),
                     fd=('F1', 'AUC'))[task]
    return tuple(from_task) + tuple(m for m in COMMON + OWN[task] if m not in from_task)


def _run(cmd: list, log: str) -> None:
    print('[study] ' + ' '.join(cmd), flush=True)
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f'[study] failed ({proc.returncode}): see {log}')


def _train(config: str, work: str, seed: int, iters: int, checkpoint_interval: int,
           batch_size: int = None, extra_options: Sequence[str] = ()) -> str:
    ckpt = osp.join(work, f'iter_{iters}.pth')
    if not osp.isfile(ckpt):
        os.makedirs(work, exist_ok=True)
        options = [f'randomness.seed={seed}', *_schedule_options(iters, checkpoint_interval)]
        if batch_size:
            options.append(f'train_dataloader.batch_size={batch_size}')
        options += list(extra_options)
        # --resume: from the work dir's last checkpoint when a run was stopped, else a fresh start
        log = osp.join(work, 'train.out')
        if osp.isfile(log):
            os.replace(log, log + '.before_resume')
        _run([sys.executable, 'tools/train.py', config, '--work-dir', work, '--resume', '--cfg-options',
              *options], log)
    return ckpt


def _test(config: str, ckpt: str, work: str, options: list, task: str = None) -> dict:
    path = osp.join(work, 'foreground_metrics.json')
    if not osp.isfile(path):
        os.makedirs(work, exist_ok=True)
        _run([sys.executable, 'tools/test.py', config, ckpt, '--work-dir', work] +
             (['--cfg-options', *options] if options else []) + (['--task', task] if task else []),
             osp.join(work, 'test.out'))
    return json.load(open(path))['results']


def _single_task_config(task: str, work: str) -> str:
    """The single-task config with its metric set widened to the study's columns.

    (A ``metrics`` key cannot go through ``--cfg-options``: mmengine's runner takes an evaluator dict with
    ``metrics`` for an ``Evaluator`` config; a list of metric dicts is the documented form.)
    """
    os.makedirs(work, exist_ok=True)
    path = osp.join(work, f'single_{task}_study.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = ['{osp.join(REPO, SINGLE.format(task=task))}']\n"
                f"test_evaluator = [dict(type='ForegroundMetric', task='{task}', "
                f"metrics={list(_metric_names(task))})]\n")
    return path


def _universal_options() -> list:
    return ['test_evaluator.extra_metrics=[' + ','.join(COMMON + ('BER', 'F1', 'AUC')) + ']']


def _train_split_options(universal: bool) -> list:
    """Test on the training images (the train/test gap): each test set's split set to 'train'."""
    if universal:
        return [f'test_dataloader.dataset.datasets.{i}.split=train' for i in range(len(TASKS))]
    return ['test_dataloader.dataset.split=train']


def _baselines(work: str) -> dict:
    """Trivial predictors on the universal config's test sets (= the five single-task test sets)."""
    path = osp.join(work, 'baselines.json')
    if osp.isfile(path):
        return json.load(open(path))
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import focus_mm  # noqa: F401
    from focus_mm.datasets.mask_io import probability_to_uint8, read_foreground_mask
    from focus_mm.evaluation.metrics import MultiTaskForegroundMetric
    from mmseg.registry import DATASETS

    spec = importlib.util.spec_from_file_location(
        'trivial_baselines', osp.join(REPO, 'tools', 'analysis_tools', 'trivial_baselines.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, UNIVERSAL))
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, lazy_init=False))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    out = {}
    for name, predictor in tool.BASELINES.items():
        metric = MultiTaskForegroundMetric(tasks=TASKS, extra_metrics=COMMON + ('BER', 'F1', 'AUC'))
        for info in infos:
            gt = read_foreground_mask(info['seg_map_path'])
            metric.add_pair(probability_to_uint8(predictor(*gt.shape)), gt, task=info['task'])
        out[name] = metric.evaluate(len(infos))
    os.makedirs(work, exist_ok=True)
    json.dump(out, open(path, 'w'), indent=2)
    return out


def _mean_sd(values):
    import numpy as np
    values = [v for v in values if v is not None]
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.3f}'
    return f'{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}'


def main():
    args = parse_args()
    os.chdir(REPO)
    root = args.work_dir if args.batch_size is None else f'{args.work_dir}_b{args.batch_size}'
    universal, single, wrong, gap = {}, {}, {}, {}
    want_gap = 'gap' in args.only or 'table' in args.only
    for seed in args.seeds:
        tag = f'_{args.tag}' if args.tag else ''
        uwork = osp.join(root, f'universal_{args.universal_iters}{tag}_seed{seed}')
        uoptions = _universal_options() + args.universal_options
        uckpt = osp.join(uwork, f'iter_{args.universal_iters}.pth')
        if 'universal' in args.only:
            uckpt = _train(UNIVERSAL, uwork, seed, args.universal_iters, args.checkpoint_interval,
                           args.batch_size, args.universal_options)
        if osp.isfile(uckpt) and ('wrong' in args.only or want_gap):
            wrong[seed] = {
                t: _test(UNIVERSAL, uckpt, osp.join(uwork, f'test_as_{t}'), uoptions, t)
                for t in TASKS if 'wrong' in args.only
                or osp.isfile(osp.join(uwork, f'test_as_{t}', 'foreground_metrics.json'))
            }
            # its own task on each test set: the diagonal
            universal[seed] = {
                k: v
                for t, res in wrong[seed].items()
                for k, v in res.items() if k.split('/')[0] == t
            }
        train_split = osp.join(uwork, 'train_split')
        if osp.isfile(uckpt) and want_gap and ('gap' in args.only or osp.isdir(train_split)):
            res = _test(UNIVERSAL, uckpt, train_split, uoptions + _train_split_options(True))
            gap.setdefault(seed, {}).update({f'universal/{k}': v for k, v in res.items()})
        for task in TASKS:
            swork = osp.join(root, f'single_{task}_{args.single_iters}_seed{seed}')
            sckpt = osp.join(swork, f'iter_{args.single_iters}.pth')
            config = SINGLE.format(task=task)
            if 'single' in args.only:
                sckpt = _train(config, swork, seed, args.single_iters, args.checkpoint_interval,
                               args.batch_size)
            if osp.isfile(sckpt) and ('single' in args.only or want_gap):
                res = _test(_single_task_config(task, swork), sckpt, osp.join(swork, 'test'), [])
                res = next(iter(res.values()))  # ForegroundMetric's JSON: {test set: {metric: value}}
                single.setdefault(seed, {}).update({f'{task}/{k}': v for k, v in res.items()})
            train_split = osp.join(swork, 'train_split')
            if osp.isfile(sckpt) and want_gap and ('gap' in args.only or osp.isdir(train_split)):
                res = _test(_single_task_config(task, swork), sckpt, train_split, _train_split_options(False))
                res = next(iter(res.values()))
                gap.setdefault(seed, {}).update({f'single/{task}/{k}': v for k, v in res.items()})
    baselines = _baselines(root) if ('baselines' in args.only or 'table' in args.only) else {}
    print(table(universal, single, wrong, baselines, args))
    if gap:
        print(gap_table(universal, single, gap, args))


def gap_table(universal, single, gap, args) -> str:
    """Sm on the training images against Sm on the test images, per task and model."""
    lines = [
        '', f'### Train/test gap: Sm on the training images vs the test images, seeds {args.seeds}', '',
        '| task | universal train | universal test | single-task train | single-task test |',
        '|---|---|---|---|---|'
    ]
    for task in TASKS:
        cells = [
            _mean_sd([gap[s].get(f'universal/{task}/Sm') for s in gap]),
            _mean_sd([universal[s].get(f'{task}/Sm') for s in universal]),
            _mean_sd([gap[s].get(f'single/{task}/Sm') for s in gap]),
            _mean_sd([single[s].get(f'{task}/Sm') for s in single]),
        ]
        lines.append(f'| {task} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def table(universal, single, wrong, baselines, args) -> str:
    lines = [
        f'### Own task: universal ({args.universal_iters} it.) vs single-task ({args.single_iters} it. '
        f'each), seeds {args.seeds} (mean ± sd over seeds)', ''
    ]
    header = '| task | metric | universal | single-task | ' + ' | '.join(baselines) + ' |'
    lines += [header, '|' + '---|' * (4 + len(baselines))]
    for task in TASKS:
        for m in COMMON + OWN[task]:
            key = f'{task}/{m}'
            row = [
                task, m,
                _mean_sd([universal[s].get(key) for s in universal]),
                _mean_sd([single[s].get(key) for s in single])
            ]
            row += [_mean_sd([baselines[b].get(key)]) for b in baselines]
            lines.append('| ' + ' | '.join(row) + ' |')
    if wrong:
        lines += [
            '', '### Universal model told the wrong task: Sm (BER for sd) of each test set (rows) under '
            'each task (columns); the diagonal is its own task', ''
        ]
        lines += [
            '| test set | ' + ' | '.join(f'as {t}' for t in TASKS) + ' |', '|' + '---|' * (1 + len(TASKS))
        ]
        for task in TASKS:
            metric = 'BER' if task == 'sd' else 'Sm'
            cells = [
                _mean_sd([wrong[s][t].get(f'{task}/{metric}') for s in wrong if t in wrong[s]]) for t in TASKS
            ]
            lines.append(f'| {task} ({metric}) | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
