"""Shared steps of the projects/ tests: load a project's mini config offline, train two steps, predict."""
import copy
import os.path as osp
from typing import Dict, List, Tuple

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from _tiny_models import synthetic_foreground_batch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_project_config(relative_path: str) -> Config:
    """A project config (its ``custom_imports`` name ``projects.<name>``: the repository root is importable
    in the tests by ``pythonpath = .`` in setup.cfg, as ``PYTHONPATH=.`` makes it for the tools)."""
    init_default_scope('mmseg')
    return Config.fromfile(osp.join(REPO_ROOT, relative_path))


def downloads_in(model_cfg) -> List[str]:
    """Every pretrained checkpoint / hub weight that building ``model_cfg`` would fetch."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            init_cfg = node.get('init_cfg')
            if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
                found.append(f'{path}.init_cfg')
            for key in ('pretrained', 'edge_pretrained'):
                if node.get(key) is not None:
                    found.append(f'{path}.{key}={node[key]}')
            for key, value in node.items():
                walk(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}.{i}')

    walk(model_cfg, 'model')
    return found


def build_mini_model(cfg: Config):
    """The config's model with its own initialisation (the mini configs download nothing)."""
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    return model


def synthetic_data(num_images: int = 2, size: int = 112, seed: int = 0) -> Dict[str, list]:
    """A loader-style batch: 6-channel uint8-valued inputs (image + EdgePrior image) and masks."""
    images, samples = synthetic_foreground_batch(num_images, size, seed=seed, channels=6)
    return dict(inputs=images, data_samples=samples)


def train_two_iterations(model, cfg: Config) -> Tuple[List[Dict[str, torch.Tensor]], List[str]]:
    """Two optimizer steps with the config's optimizer wrapper on batches of 2.

    Returns:
        tuple: the two log-variable dicts of ``train_step`` and the names of the parameters that changed.
    """
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    logs = [model.train_step(synthetic_data(seed=step), optim_wrapper) for step in range(2)]
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    return logs, changed


def predict(model, size: int = 112) -> list:
    """``test_step`` on 2 images whose size is not a multiple of 32 (exercises padding and cropping)."""
    model.eval()
    with torch.no_grad():
        return model.test_step(synthetic_data(seed=7, size=size))


def check_binary_prediction(results: list, size: int) -> None:
    """mmseg's binary output: a 1 x H x W probability (sigmoid) and its thresholded 0/1 mask."""
    assert len(results) == 2
    for sample in results:
        prob, pred = sample.seg_logits.data, sample.pred_sem_seg.data
        assert prob.shape == (1, size, size) and pred.shape == (1, size, size)
        assert torch.isfinite(prob).all() and prob.min() >= 0 and prob.max() <= 1
        assert set(pred.unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(pred.bool(), prob > 0.5)
