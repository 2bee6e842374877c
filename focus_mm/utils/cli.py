"""Helpers of the command-line tools: ``--cfg-options``, reading a config, checking an output folder.

``tools/*.py`` (and ``focus_mm/.mim/tools`` in an installed package) import them from here, so a tool runs
from any working directory without editing ``sys.path``.
"""
import argparse
import inspect
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Optional, Sequence

from mmengine.config import Config, DictAction


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options KEY=VALUE ...``, parsed by mmengine's ``DictAction`` (as mmseg's tools do)."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
        help='override settings of the config, e.g. model.decode_head.train_cfg.num_points=4 '
        'randomness.seed=1 "train_dataloader.dataset.pipeline.1.scale=(256,256)". '
        'Keys the config does not have yet are '
        'added (and listed on stderr) inside an existing entry or as a Runner setting; a new top-level '
        'name that the Runner does not read is refused as a typo.')


def parse_cfg_options(pairs: Optional[Sequence[str]]) -> Optional[dict]:
    """``KEY=VALUE`` strings to the dict that ``--cfg-options`` gives (for tools that also pass the
    strings on to a child process, like ``tools/experiments/run_ablation.py``)."""
    if not pairs:
        return None
    parser = argparse.ArgumentParser(add_help=False)
    add_cfg_options(parser)
    return parser.parse_args(['--cfg-options', *pairs]).cfg_options


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and apply ``--cfg-options`` (as ``Config.merge_from_dict``).

    Like mmseg's tools, keys that the config does not hold yet are added (``randomness.seed=1`` on a
    config without ``randomness``, ``env_cfg.dist_cfg.timeout=7200``), and listed on stderr so that a
    typo in a nested name is seen (a component's constructor refuses an unknown argument anyway). A new
    top-level name must be one the Runner reads (:func:`runner_keys`): a mistyped ``trian_cfg.max_iters=3``
    would otherwise be added silently and ignored, so it is refused.
    """
    if not osp.isfile(path):
        raise SystemExit(f'config not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        unknown = [key for key in cfg_options if key.split('.')[0] not in cfg and key.split('.')[0] not in
                   runner_keys()]
        if unknown:
            raise SystemExit(
                f'--cfg-options: unknown key(s) {unknown} for {path}: neither in the config nor a Runner '
                f'setting ({", ".join(sorted(runner_keys()))}). Print the full config with '
                f'`python -c "from mmengine import Config; print(Config.fromfile(\'{path}\').pretty_text)"` '
                'to see the valid keys.')
        added = [key for key in cfg_options if not _has_key(cfg, key)]
        if added:
            print(f'--cfg-options: adding key(s) that {osp.basename(path)} does not have yet: {added}',
                  file=sys.stderr)
        cfg.merge_from_dict(cfg_options)
    return cfg


def runner_keys() -> set:
    """Top-level config names that mmengine's ``Runner.from_cfg`` and our tools read."""
    from mmengine.runner import Runner
    names = set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    # read from the config by the Runner itself (wrap_model, train, ...), by mmengine's Config
    # (custom_imports) and by tools/test.py --tta, not Runner.__init__ arguments
    return names | {'model_wrapper_cfg', 'sync_bn', 'find_unused_parameters', 'activation_checkpointing',
                    'efficient_conv_bn_eval', 'compile', 'custom_imports', 'tta_model', 'tta_pipeline'}


def _has_key(cfg, dotted: str) -> bool:
    """Whether ``dotted`` names an existing entry of the config (a list entry by its index)."""
    node = cfg
    for part in dotted.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, 'keys') and part in node:
            node = node[part]
        else:
            return False
    return True


def check_work_dir(path: str) -> None:
    """Fail early, with the path, when the output folder cannot be written."""
    try:
        os.makedirs(path, exist_ok=True)
        # a probe file of its own per process: the ranks of tools/dist_train.sh check the same folder at
        # once, and a shared probe name let one rank delete the other's file before it did (FileNotFoundError)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise SystemExit(f'cannot write to the output folder {path}: {err.strerror}. '
                         'Choose another with --work-dir / --out.')


def add_model_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``get_flops.py`` and ``benchmark.py``: the config, the input size and batch,
    torch's threads, the JSON file and ``--cfg-options``."""
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s)')
    parser.add_argument('--json', help='also write the numbers to this file')
    add_cfg_options(parser)


def write_json(result: dict, path: Optional[str]) -> None:
    """Write ``result`` to ``path`` (folders created) and say so; nothing when ``path`` is None."""
    if not path:
        return
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'written {path}')
