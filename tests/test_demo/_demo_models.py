"""A tiny FOCUS model as a config file and checkpoint for the demos' tests (built in seconds, on the CPU),
and the images they show it.

The mini config with the tests' tiny model in it, tested at 96 px on the short side. Its random weights
are changed so that its masks follow the image instead of being one constant value (see
``write_tiny_model``).
"""
import os.path as osp

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MINI_CONFIG = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')
TEST_SHORT_SIDE = 96


def write_tiny_model(folder: str):
    """Write ``tiny.py`` and ``tiny.pth`` into ``folder``; returns their paths."""
    from _tiny_models import build_model, tiny_focus_segmentor_cfg
    from mmengine.config import Config

    from focus_mm.datasets.transforms import EdgePrior

    cfg = Config.fromfile(MINI_CONFIG)
    cfg.model = tiny_focus_segmentor_cfg(prior=False)
    for step in cfg.test_pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (1024, TEST_SHORT_SIDE)
    cfg.test_dataloader.dataset.pipeline = cfg.test_pipeline
    config = osp.join(folder, 'tiny.py')
    cfg.dump(config)
    torch.manual_seed(0)
    model = build_model(cfg.model).eval()
    head = model.decode_head
    queries = []
    hook = head.decoder_norm.register_forward_hook(lambda module, args, out: queries.append(out))
    with torch.no_grad():
        image = EdgePrior()(dict(img=scene(TEST_SHORT_SIDE, 128)))['img']  # + the edge-blended image
        inputs = torch.from_numpy(image).permute(2, 0, 1).float()
        model.test_step(dict(inputs=[inputs], data_samples=None))
        hook.remove()
        # Query 0 reads as foreground, query 1 as background (the class weights along their difference),
        # and their masks, scaled up, compete pixel by pixel: the mask follows the image.
        direction = queries[-1][0, 0] - queries[-1][0, 1]
        head.cls_embed.weight.zero_()
        head.cls_embed.bias.zero_()
        head.cls_embed.weight[0] = 20 * direction / direction.norm()**2
        head.cls_embed.weight[1] = -head.cls_embed.weight[0]
        head.mask_embed.layers[-1].weight.mul_(40.0)
    checkpoint = osp.join(folder, 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    return config, checkpoint


def scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A bright textured ellipse on a darker gradient: ``H x W x 3`` uint8 BGR."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx = rng.uniform(0.35, 0.65, 2) * (height, width)
    inside = ((yy - cy) / (0.3 * height))**2 + ((xx - cx) / (0.25 * width))**2 <= 1
    image = np.where(inside[..., None], rng.uniform(150, 230, 3), rng.uniform(20, 90, 3))
    image = image + (xx / width)[..., None] * 40 + rng.normal(0, 10, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)
