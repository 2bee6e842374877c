"""Tiny FOCUS model configs and synthetic foreground data for CPU tests (no weights, no network)."""
import contextlib
import copy
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

# Models build their data preprocessor through mmengine's registry: resolve names in mmseg's scope.
init_default_scope('mmseg')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MINI_CONFIG = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')
WIDTH = 32  # queries, pixel decoder and decoder width of the tiny head
RESNET_CHANNELS = [16, 32, 64, 128]  # ResNetV1c-18 with base_channels=16
VIT_DIMS = 32  # tiny DINOv2 width = EdgeEnhancerNeck output width
TINY_VIT_ARCH = dict(embed_dims=VIT_DIMS, num_layers=4, num_heads=2, feedforward_channels=64)
NARROW_RESNET18 = dict(type='ResNet', depth=18, base_channels=8, stem_channels=8, out_indices=(0, 1, 2, 3),
                       zero_init_residual=False)

# A random open_clip CLIP small enough for CPU tests (the tokenizer's vocabulary fixes vocab_size).
TINY_CLIP_MODEL_CFG = dict(
    embed_dim=16,
    vision_cfg=dict(image_size=32, patch_size=8, width=32, layers=1, head_width=16, mlp_ratio=2.0),
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1))

SEG_DATA_PREPROCESSOR = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32)


def tiny_clip_loss_cfg(**kwargs) -> dict:
    """``CLIPRefinerLoss`` on a tiny random CLIP."""
    cfg = dict(type='CLIPRefinerLoss', task='sod', pretrained=None,
               model_cfg=copy.deepcopy(TINY_CLIP_MODEL_CFG))
    cfg.update(kwargs)
    return cfg


def tiny_pixel_decoder_cfg(**kwargs) -> dict:
    """The real ``FocusPixelDecoder`` with one encoder layer (widths follow the head)."""
    cfg = dict(type='FocusPixelDecoder', num_encoder_layers=1, num_heads=4, num_points=2,
               feedforward_channels=64)
    cfg.update(kwargs)
    return cfg


def tiny_head_cfg(in_channels: Sequence[int] = RESNET_CHANNELS, prior_index: Optional[int] = None,
                  loss_clip: Optional[dict] = None, num_decoder_layers: int = 2, num_points: int = 1024,
                  **kwargs) -> dict:
    """``GroundQueryHead`` at width 32, 4 heads, FFN 64, few layers and points (``train_cfg`` keys given
    in ``kwargs`` are merged into those points)."""
    train_cfg = dict(num_matching_points=num_points, num_points=num_points)
    train_cfg.update(kwargs.pop('train_cfg', {}))
    cfg = dict(
        type='GroundQueryHead',
        in_channels=list(in_channels),
        feat_channels=WIDTH,
        num_heads=4,
        feedforward_channels=64,
        num_decoder_layers=num_decoder_layers,
        pixel_decoder=tiny_pixel_decoder_cfg(),
        prior_index=prior_index,
        train_cfg=train_cfg,
        loss_clip=loss_clip)
    cfg.update(kwargs)
    return cfg


def tiny_resnet_segmentor_cfg(**head_kwargs) -> dict:
    """FocusSegmentor on a narrow ResNetV1c-18 (no neck, 3-channel input, M0 off: no token map)."""
    return dict(
        type='FocusSegmentor',
        data_preprocessor=copy.deepcopy(SEG_DATA_PREPROCESSOR),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=16, base_channels=16,
                      norm_cfg=dict(type='BN', requires_grad=True)),
        decode_head=tiny_head_cfg(RESNET_CHANNELS, **head_kwargs),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))


def tiny_focus_segmentor_cfg(prior: bool = True, **head_kwargs) -> dict:
    """The full FOCUS stack, tiny: FocusDataPreProcessor (6 channels), a 4-block DINOv2 of width 32 with
    one block per interaction group, EdgeEnhancerNeck on a narrow ResNet-18, GroundQueryHead (M0 on by
    default: the neck appends the DINOv2 token map as input 4). Random weights everywhere."""
    return dict(
        type='FocusSegmentor',
        data_preprocessor=dict(type='FocusDataPreProcessor', size_divisor=32),
        backbone=dict(type='DINOv2', arch=copy.deepcopy(TINY_VIT_ARCH), img_size=42,
                      interaction_groups=[[0, 0], [1, 1], [2, 2], [3, 3]]),
        neck=dict(type='EdgeEnhancerNeck', embed_dims=VIT_DIMS, num_heads=4, num_points=2,
                  edge_backbone=copy.deepcopy(NARROW_RESNET18), norm_cfg=dict(type='BN')),
        decode_head=tiny_head_cfg([VIT_DIMS] * 4, prior_index=4 if prior else None, **head_kwargs),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))


@contextlib.contextmanager
def single_thread():
    """Run torch on one thread: tiny ops on a shared 2-core machine are many times faster without the
    thread hand-offs (measured: a tiny FOCUS step 0.12 s on 1 thread vs 0.6-7 s on 2 under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def build_model(cfg: dict):
    """Build from a plain dict as a config file would (nested ConfigDicts) and initialise the weights."""
    model = MODELS.build(ConfigDict(copy.deepcopy(cfg)))
    model.init_weights()
    return model


def save_random_mini_checkpoint(folder) -> str:
    """The mini SOD config's model (``MINI_CONFIG``), randomly initialised, saved as ``folder/mini.pth`` in
    mmengine's checkpoint layout; returns the path."""
    from mmengine.config import Config

    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(MINI_CONFIG).model)
    path = osp.join(str(folder), 'mini.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def synthetic_foreground_batch(num_images: int = 4, size: int = 128, seed: int = 0,
                               channels: int = 3) -> Tuple[List[torch.Tensor], List[SegDataSample]]:
    """Images with one coloured, textured ellipse on a smooth background, and its mask.

    Returns:
        tuple: a list of uint8-valued float C x H x W tensors (BGR, like LoadImageFromFile) and a list of
        SegDataSample with ``gt_sem_seg`` (0 bg, 1 fg) and the usual metainfo; ``channels=6`` appends the
        edge-blended image made by the ``EdgePrior`` transform.
    """
    from focus_mm.datasets.transforms import EdgePrior
    edge_prior = EdgePrior()
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    images, samples = [], []
    for _ in range(num_images):
        cy, cx = rng.uniform(0.3, 0.7, 2) * size
        ry, rx = rng.uniform(0.15, 0.3, 2) * size
        mask = ((yy - cy) / ry)**2 + ((xx - cx) / rx)**2 <= 1.0
        bg_colour, fg_colour = rng.uniform(20, 120, 3), rng.uniform(140, 240, 3)
        gradient = (xx / size)[..., None] * rng.uniform(-30, 30, 3)
        image = np.where(mask[..., None], fg_colour, bg_colour) + gradient + rng.normal(0, 8, (size, size, 3))
        image = np.clip(image, 0, 255).round().astype(np.uint8)
        if channels == 6:
            image = edge_prior(dict(img=image))['img']
        tensor = torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1).contiguous()
        images.append(tensor)
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(mask.astype(np.int64))[None])
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size),
                                 img_path=f'synthetic_{_}.png'))
        samples.append(sample)
    return images, samples


def foreground_iou(pred: torch.Tensor, gt: torch.Tensor) -> float:
    """IoU of two binary maps (foreground = nonzero)."""
    pred, gt = pred.bool(), gt.bool()
    union = (pred | gt).sum().item()
    return 1.0 if union == 0 else (pred & gt).sum().item() / union


def odd_format_images(rng: np.random.Generator) -> dict:
    """Four small non-square images as a user's folder holds them, drawn from ``rng``: ``name -> array``
    (a JPEG-bound colour image, an RGBA PNG, a grey PNG, a 16-bit PNG)."""
    return {
        'photo.jpg': rng.integers(0, 255, (90, 120, 3), dtype=np.uint8),
        'alpha.png': rng.integers(0, 255, (64, 48, 4), dtype=np.uint8),
        'gray.png': rng.integers(0, 255, (50, 70), dtype=np.uint8),
        'deep.png': rng.integers(0, 65535, (40, 60, 3), dtype=np.uint16),
    }


def m0_short_side_config_text(base: str, short_side: int = 64) -> str:
    """A config file's text over ``base`` with M0 on and the test pipeline at a small short side (CPU
    cost): images keep their aspect ratio and are padded by the data preprocessor, as in the PyTorch
    route."""
    return f'''_base_ = [{base!r}]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, {short_side}), keep_ratio=True),
    dict(type='EdgePrior'),
    dict(type='PackSegInputs'),
]
model = dict(decode_head=dict(prior_index=4))
'''
