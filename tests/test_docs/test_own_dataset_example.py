"""The worked example of docs/user_guides/dataset_prepare.md ("Your own dataset") is a real config: its
datasets build on a folder laid out as the page says, a sample goes through the training pipeline, and
the model builds (on the meta device) with the example's prompts and best-checkpoint rule."""
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from focus_mm.utils import offline_model_cfg
from mmseg.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EXAMPLE = osp.join(REPO, 'configs', 'focus', 'examples', 'focus-custom_dinov2-l_2xb4-20k_fg-512x512.py')


def _write_split(root, split, count, rng):
    for i in range(count):
        h, w = 72 + 8 * i, 96
        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        mask = np.zeros((h, w), np.uint8)
        mask[10:40, 20 + i:60] = 255
        for folder, name, array in (('images', f'{i}.jpg', image), ('masks', f'{i}.png', mask)):
            path = osp.join(root, folder, split, name)
            os.makedirs(osp.dirname(path), exist_ok=True)
            assert cv2.imwrite(path, array)


def test_the_example_config_builds_on_its_documented_layout(tmp_path):
    init_default_scope('mmseg')
    rng = np.random.default_rng(0)
    _write_split(str(tmp_path), 'train', 3, rng)
    _write_split(str(tmp_path), 'val', 2, rng)
    cfg = Config.fromfile(EXAMPLE)
    assert cfg.test_dataloader.dataset == cfg.val_dataloader.dataset

    train = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=str(tmp_path)))
    val = DATASETS.build(dict(cfg.val_dataloader.dataset, data_root=str(tmp_path)))
    assert (len(train), len(val)) == (3, 2)
    sample = train[0]
    channels, height, width = sample['inputs'].shape
    assert channels == 6 and max(height, width) <= 512  # image + edge-blended image, at most the crop
    assert sample['data_samples'].metainfo['task'] == 'sod'
    assert set(np.unique(sample['data_samples'].gt_sem_seg.data.numpy())) <= {0, 1, 255}

    assert cfg.model.decode_head.loss_clip.prompts == (
        'a photo of a damaged part', 'a photo of intact surface')
    assert cfg.default_hooks.checkpoint.save_best == 'Sm' and cfg.val_evaluator.task == 'sod'
    with torch.device('meta'):
        model = MODELS.build(offline_model_cfg(cfg.model))
    assert type(model).__name__ == 'FocusSegmentor'
