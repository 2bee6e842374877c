"""Train and test a list of configs (an ablation) with one seed, and tabulate them like the paper's Table 4.

Examples:
    # the CPU mini ablation (every mini row of Table 4, mini COD)
    python tools/experiments/run_ablation.py configs/focus/ablations --filter '*_mini*' \\
        --work-dir work_dirs/ablation_mini --threads 1
    # the paper's COD ablation on GPUs (needs the datasets, DINOv2/CLIP/ResNet weights)
    python tools/experiments/run_ablation.py configs/focus/ablations --filter '*_cod-512x512.py' \\
        --work-dir work_dirs/ablation_cod
    # continue after an interruption: finished rows are skipped, an unfinished one resumes training
    python tools/experiments/run_ablation.py ... --resume

Each config (a folder stands for its ``*.py`` files, sorted) is trained with ``tools/train.py`` and then
tested with ``tools/test.py`` as separate processes, all with the same ``randomness.seed``, into
``<work-dir>/<config name>/``. A finished row leaves ``ablation_result.json`` there (metrics, parameter
counts, switches, times); ``--resume`` skips such rows and resumes an interrupted training from its last
checkpoint. The table (one row per config: id, variant, backbone, the Table 4 switches read from the
config itself, trainable/total parameters, the test metrics, minutes) is printed and written as
``ablation.md`` and ``ablation.csv`` in the work dir.
"""
import argparse
import csv
import fnmatch
import glob
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RESULT_FILE = 'ablation_result.json'
SWITCHES = ('JP', 'CR', 'EE', 'PR', 'frozen', 'M0')
# ``focus-ablation-<id>-<tag>_<backbone>_...``: the Table 4 row id, the variant tag, the backbone.
NAME_PATTERN = re.compile(r'ablation-(?P<id>\d+)-(?P<tag>[^_]+)_(?P<backbone>[^_]+)_')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train, test and tabulate a list of configs (an ablation).')
    parser.add_argument('configs', nargs='+', help='config files and/or folders of configs')
    parser.add_argument('--filter', default=None,
                        help="glob on the config file names, e.g. '*_mini*' (applies to folders and files)")
    parser.add_argument('--work-dir', required=True, help='one sub-folder per config, and the tables')
    parser.add_argument('--seed', type=int, default=0, help='randomness.seed of every row (default 0)')
    parser.add_argument('--max-iters', type=int, default=None,
                        help='override the training length of every row (schedule, checkpoint follow)')
    parser.add_argument('--resume', action='store_true',
                        help='skip rows with a result file; resume an interrupted training')
    parser.add_argument('--threads', type=int, default=None,
                        help='OMP/MKL threads of each training/testing process (1 is fastest on a busy CPU)')
    parser.add_argument('--val', action='store_true',
                        help="keep the configs' validation during training (off: the test after it does)")
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='overrides passed to every train and test run (parsed and checked as '
                        'tools/train.py does, see focus_mm/utils/cli.py)')
    parser.add_argument('--dry-run', action='store_true',
                        help='list the rows and their switches, run nothing')
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------- configs
def collect_configs(paths: List[str], pattern: Optional[str] = None) -> List[str]:
    """Config files from files and folders (a folder's ``*.py``, sorted, ``_base_`` left out)."""
    configs = []
    for path in paths:
        if osp.isdir(path):
            found = sorted(p for p in glob.glob(osp.join(path, '*.py'))
                           if not osp.basename(p).startswith('_'))
            if not found:
                raise SystemExit(f'no config (*.py) in folder {path}')
            configs += found
        elif osp.isfile(path):
            configs.append(path)
        else:
            raise SystemExit(f'config not found: {path}')
    if pattern:
        configs = [c for c in configs if fnmatch.fnmatch(osp.basename(c), pattern)]
        if not configs:
            raise SystemExit(f'--filter {pattern!r} matches none of the configs in {paths}')
    names = [osp.splitext(osp.basename(c))[0] for c in configs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SystemExit(f'two configs share a name (their work dirs would collide): {duplicates}')
    return configs


def describe_row(cfg) -> Dict[str, object]:
    """The Table 4 switches as the config sets them (not as its name says)."""
    model = cfg.model
    head = model.get('decode_head', {}) or {}
    neck = model.get('neck', None)
    backbone = model.get('backbone', {}) or {}
    return dict(
        JP=bool(head.get('joint_prediction', True)),
        CR=head.get('loss_clip') is not None,
        EE=neck is not None and bool(neck.get('with_edge', True)) and 'EdgeEnhancer' in str(neck.get('type')),
        PR=cfg.get('load_from') is not None,
        frozen=bool(backbone.get('frozen', False)),
        M0=head.get('prior_index') is not None)


def count_parameters(cfg) -> Dict[str, int]:
    """Total and trainable parameters of the config's model, built on the ``meta`` device.

    Nothing is loaded or downloaded: pretrained inits, edge weights and the CLIP model are dropped (the
    frozen CLIP lives outside the module tree anyway, so it is never counted).
    """
    import torch
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    import_modules_from_strings(**cfg.get('custom_imports', dict(imports=['focus_mm'])))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    from focus_mm.utils import build_offline_model

    with torch.device('meta'):
        model = build_offline_model(cfg.model)
    params = list(model.parameters())
    return dict(params=sum(p.numel() for p in params),
                trainable=sum(p.numel() for p in params if p.requires_grad))


def config_hash(cfg) -> str:
    """A digest of the resolved config: ``--resume`` retrains a row whose config changed."""
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def row_name(config: str) -> Dict[str, str]:
    """Row id, variant tag and backbone from the file name (falls back to the whole name)."""
    stem = osp.splitext(osp.basename(config))[0]
    match = NAME_PATTERN.search(stem)
    if match is None:
        return dict(id='', variant=stem, backbone='')
    return dict(id=match['id'], variant=match['tag'], backbone=match['backbone'])


# ---------------------------------------------------------------------------------------------- running
def _env(threads: Optional[int]) -> dict:
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    if threads:
        for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
            env[key] = str(threads)
    return env


def _run(cmd: List[str], log_path: str, env: dict) -> None:
    with open(log_path, 'a') as log:
        log.write('$ ' + ' '.join(cmd) + '\n')
        log.flush()
        proc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-3000:]
        raise RuntimeError(f'command failed (exit {proc.returncode}), log {log_path}:\n$ {" ".join(cmd)}\n'
                           f'... {tail}')


def write_run_config(config: str, cfg, args, path: str) -> int:
    """A config inheriting ``config`` with the row's seed (and length, validation off); returns max_iters.

    A derived file rather than ``--cfg-options``: it stays next to the results as the exact experiment
    that ran (the user's ``--cfg-options`` are passed on as given).
    """
    max_iters = args.max_iters or cfg.train_cfg.get('max_iters')
    lines = [f"# Written by tools/experiments/run_ablation.py: {osp.basename(config)} with the ablation's "
             'seed and schedule.',
             f'_base_ = [{osp.abspath(config)!r}]',
             f'randomness = dict(seed={args.seed})']
    train_cfg = {}
    if args.max_iters:
        train_cfg['max_iters'] = max_iters
        lines.append(f'default_hooks = dict(checkpoint=dict(interval={max_iters}))')
        schedulers = [dict(s, end=max_iters) if s.get('end') is not None else dict(s)
                      for s in cfg.get('param_scheduler', []) or []]
        lines.append(f'param_scheduler = {schedulers!r}')
    if not args.val:
        train_cfg['val_interval'] = max_iters + 1  # the test after training evaluates the row
    if train_cfg:
        lines.append(f'train_cfg = dict({", ".join(f"{k}={v!r}" for k, v in train_cfg.items())})')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return max_iters


def run_row(config: str, args, env: dict) -> dict:
    """Train, test and describe one config; returns (and saves) its result record."""
    from focus_mm.utils.cli import load_config, parse_cfg_options
    stem = osp.splitext(osp.basename(config))[0]
    work_dir = osp.join(args.work_dir, stem)
    result_path = osp.join(work_dir, RESULT_FILE)
    # the same parsing and key rules as tools/train.py and tools/test.py, which get the same strings
    cfg = load_config(config, parse_cfg_options(args.cfg_options))
    max_iters = args.max_iters or cfg.train_cfg.get('max_iters')
    if not max_iters:
        raise SystemExit(f'[{stem}] the runner trains iteration-based configs: {config} has no '
                         f'train_cfg.max_iters (or pass --max-iters)')
    resume = args.resume
    if args.resume and osp.isfile(result_path):
        with open(result_path) as f:
            record = json.load(f)
        if (record.get('seed'), record.get('max_iters'), record.get('config_hash')) == (
                args.seed, max_iters, config_hash(cfg)):
            print(f'[{stem}] finished before: skipped ({result_path})', flush=True)
            return record
        print(f'[{stem}] {result_path} is for another seed, length or config: training anew', flush=True)
        resume = False
    os.makedirs(work_dir, exist_ok=True)
    load_from = cfg.get('load_from')
    if load_from and '://' not in load_from and not osp.isfile(osp.join(REPO, load_from)) \
            and not osp.isfile(load_from):
        raise SystemExit(f'[{stem}] PR row: load_from={load_from!r} (the checkpoint to start from) does not '
                         f'exist. Put the pretrained checkpoint there, pass --cfg-options load_from=<file>, '
                         f'or leave this config out (--filter).')
    record = dict(config=osp.relpath(osp.abspath(config), REPO), seed=args.seed, config_hash=config_hash(cfg),
                  **row_name(config), **describe_row(cfg), **count_parameters(cfg))
    log_path = osp.join(work_dir, 'ablation_run.log')
    os.makedirs(osp.join(args.work_dir, '_configs'), exist_ok=True)
    run_config = osp.abspath(osp.join(args.work_dir, '_configs', stem + '.py'))
    record['max_iters'] = write_run_config(config, cfg, args, run_config)
    options = ['--cfg-options', *args.cfg_options] if args.cfg_options else []

    train_cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), run_config, '--work-dir',
                 osp.abspath(work_dir), *options]
    if resume and osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        train_cmd.append('--resume')
    start = time.time()
    print(f'[{stem}] training ({record["max_iters"]} iterations, seed {args.seed}), log {log_path}',
          flush=True)
    _run(train_cmd, log_path, env)
    record['train_minutes'] = (time.time() - start) / 60
    checkpoint = _last_checkpoint(work_dir)

    test_dir = osp.join(work_dir, 'test')
    test_cmd = [sys.executable, osp.join(REPO, 'tools', 'test.py'), run_config, checkpoint, '--work-dir',
                osp.abspath(test_dir), *options]
    start = time.time()
    print(f'[{stem}] testing {checkpoint}', flush=True)
    _run(test_cmd, log_path, env)
    record['test_minutes'] = (time.time() - start) / 60
    record['metrics'] = read_metrics(osp.join(test_dir, 'foreground_metrics.json'))
    with open(result_path, 'w') as f:
        json.dump(record, f, indent=2)
    return record


def _last_checkpoint(work_dir: str) -> str:
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise RuntimeError(f'training wrote no checkpoint in {work_dir} (no last_checkpoint file)')
    with open(marker) as f:
        path = f.read().strip()
    if not osp.isfile(path):
        raise RuntimeError(f'{marker} names {path}, which does not exist')
    return path


def read_metrics(path: str) -> Dict[str, float]:
    """``{metric: value}`` from ForegroundMetric's JSON (``<set>/<metric>`` when it holds several sets)."""
    if not osp.isfile(path):
        raise RuntimeError(f'no metrics file {path}: does the config\'s test_evaluator use ForegroundMetric?')
    with open(path) as f:
        results = json.load(f)['results']
    if len(results) == 1:
        return dict(next(iter(results.values())))
    return {f'{group}/{name}': value for group, values in results.items() for name, value in values.items()}


# ---------------------------------------------------------------------------------------------- table
def make_table(records: List[dict]):
    """Header and rows (strings) of the ablation table."""
    metric_names = []
    for record in records:
        metric_names += [m for m in record.get('metrics', {}) if m not in metric_names]
    header = ['id', 'variant', 'backbone', *SWITCHES, 'trainable', 'params', *metric_names, 'train min']
    rows = []
    for r in records:
        marks = ['x' if r[s] else '-' for s in SWITCHES]
        metrics = [_format_metric(r['metrics'].get(m)) for m in metric_names]
        rows.append([r['id'], r['variant'], r['backbone'], *marks, _format_count(r['trainable']),
                     _format_count(r['params']), *metrics, f"{r.get('train_minutes', 0):.1f}"])
    return header, rows


def _format_metric(value) -> str:
    return '' if value is None else f'{value:.3f}' if abs(value) < 10 else f'{value:.2f}'


def _format_count(count: int) -> str:
    return f'{count / 1e9:.2f}G' if count >= 1e8 else f'{count / 1e6:.2f}M'


def write_tables(records: List[dict], work_dir: str) -> str:
    """Print the table; write ``ablation.md`` and ``ablation.csv`` (raw values) into ``work_dir``."""
    header, rows = make_table(records)
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    text = '\n'.join(' '.join(str(c).ljust(w) for c, w in zip(row, widths)) for row in [header] + rows)
    markdown = '\n'.join(['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] +
                         ['| ' + ' | '.join(row) + ' |' for row in rows])
    with open(osp.join(work_dir, 'ablation.md'), 'w') as f:
        f.write(markdown + '\n')
    metric_names = header[len(SWITCHES) + 5:-1]
    with open(osp.join(work_dir, 'ablation.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['id', 'variant', 'backbone', *SWITCHES, 'trainable', 'params', *metric_names,
                         'train_minutes', 'test_minutes', 'max_iters', 'seed', 'config'])
        for r in records:
            writer.writerow([r['id'], r['variant'], r['backbone'], *[int(r[s]) for s in SWITCHES],
                             r['trainable'], r['params'], *[r['metrics'].get(m, '') for m in metric_names],
                             f"{r.get('train_minutes', 0):.2f}", f"{r.get('test_minutes', 0):.2f}",
                             r.get('max_iters'), r['seed'], r['config']])
    print(text, flush=True)
    return markdown


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    configs = collect_configs(args.configs, args.filter)
    os.makedirs(args.work_dir, exist_ok=True)
    if args.dry_run:
        for config in configs:
            cfg = Config.fromfile(config)
            switches = ' '.join(f'{k}={"x" if v else "-"}' for k, v in describe_row(cfg).items())
            print(f'{osp.basename(config)}: {switches}')
        return 0
    env = _env(args.threads)
    start = time.time()
    records = []
    for config in configs:
        records.append(run_row(config, args, env))
        write_tables(records, args.work_dir)  # after every row: a partial table survives an interruption
    minutes = (time.time() - start) / 60
    print(f'{len(records)} rows in {minutes:.1f} min; tables in {args.work_dir}/ablation.md and ablation.csv',
          flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
