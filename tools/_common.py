"""Helpers shared by the command-line tools (argument checks with messages a user can act on)."""
import os
import os.path as osp

import sys

import torch
from mmengine.config import Config

# Configs may import project code (custom_imports=['projects.<name>...']), as in mmseg: the repository
# root must be importable however the tool was started.
_REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(1, _REPO_ROOT)


def load_config(path: str, cfg_options: dict = None) -> Config:
    """Read a config file and apply ``--cfg-options``, refusing keys that the config does not have.

    A mistyped key (``model.decode_head.los_weight=2``) would otherwise be added silently and ignored.
    """
    if not osp.isfile(path):
        raise SystemExit(f'config not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        unknown = [key for key in cfg_options if not _has_key(cfg, key)]
        if unknown:
            raise SystemExit(
                f'--cfg-options: unknown key(s) {unknown} for {path}. Print the full config with '
                f'`python -c "from mmengine import Config; print(Config.fromfile(\'{path}\').pretty_text)"` '
                'to see the valid keys.')
        cfg.merge_from_dict(cfg_options)
    return cfg


def _has_key(cfg, dotted: str) -> bool:
    """Whether ``dotted`` names an existing entry, or a new field of an existing dict (its parent)."""
    node = cfg
    parts = dotted.split('.')
    for i, part in enumerate(parts):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        if hasattr(node, 'keys') and part in node:
            node = node[part]
            continue
        # A new leaf is fine inside a dict that names a registered type (e.g. an extra kwarg of a
        # component), since the component's own constructor then checks it; a new top-level key or a
        # typo in an intermediate level is not.
        return i == len(parts) - 1 and hasattr(node, 'keys') and 'type' in node
    return True


def configure_launcher(cfg: Config) -> None:
    """On a machine without CUDA, run distributed jobs with gloo and CPU DDP (see focus_mm.compat)."""
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel',
                                     find_unused_parameters=cfg.get('find_unused_parameters', False))


def check_work_dir(path: str) -> None:
    """Fail early, with the path, when the output folder cannot be written."""
    try:
        os.makedirs(path, exist_ok=True)
        probe = osp.join(path, '.write_test')
        with open(probe, 'w'):
            pass
        os.remove(probe)
    except OSError as err:
        raise SystemExit(f'cannot write to the output folder {path}: {err.strerror}. '
                         'Choose another with --work-dir / --out.')
