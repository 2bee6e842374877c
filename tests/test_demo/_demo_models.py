"""A tiny FOCUS model as a config file and checkpoint for the demos' tests (built in seconds, on the CPU),
and the images they show it.

The mini config with the tests' tiny model in it, tested at 96 px on the short side. Its random weights
are changed so that its masks follow the image instead of being one constant value (see
``write_tiny_model``); the universal one's task parameters are random too, so that each task gives
other masks.
"""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MINI_CONFIG = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')
TEST_SHORT_SIDE = 96
#: the tasks of the tests' tiny universal model (two: the web page's task menu switches between them).
UNIVERSAL_TASKS = ('sod', 'cod')


def write_tiny_model(folder: str, tasks: Optional[Sequence[str]] = None):
    """Write ``tiny.py`` and ``tiny.pth`` into ``folder``; returns their paths.

    Args:
        folder (str): Where to write them.
        tasks (Sequence[str], optional): The tasks of a universal model (task-conditioned neck and head,
            the task list in the checkpoint's meta). Defaults to None: a single-task (SOD) model.
    """
    from _tiny_models import build_model, tiny_focus_segmentor_cfg
    from mmengine.config import Config

    from focus_mm.datasets.transforms import EdgePrior

    cfg = Config.fromfile(MINI_CONFIG)
    cfg.model = tiny_focus_segmentor_cfg(prior=False, **(dict(tasks=tuple(tasks)) if tasks else {}))
    if tasks:
        cfg.model['neck']['tasks'] = tuple(tasks)
    for step in cfg.test_pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (1024, TEST_SHORT_SIDE)
    cfg.test_dataloader.dataset.pipeline = cfg.test_pipeline
    config = osp.join(folder, 'tiny.py')
    cfg.dump(config)
    torch.manual_seed(0)
    model = build_model(cfg.model).eval()
    head = model.decode_head
    if tasks:
        # A trained universal model's task parameters are not zero (their initial value): random ones
        # make each task's queries, and so its masks, differ.
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if 'task' in name:
                    param.copy_(torch.randn(param.shape, generator=gen) * 0.5)
        head.inference_task = tasks[0]  # the class weights below are set from the first task's queries
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
    head.inference_task = None
    checkpoint = osp.join(folder, 'tiny.pth')
    meta = {'tasks': list(tasks)} if tasks else {}  # as TaskListHook writes it
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, checkpoint)
    return config, checkpoint


def export_tiny_model(config: str, checkpoint: str, path: str) -> str:
    """Export a model of ``write_tiny_model`` to ONNX at ``path`` (any size; a universal model's graph
    takes the task as an input); returns ``path``."""
    from _tiny_models import build_model
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from focus_mm.apis.export import export_onnx

    model = build_model(Config.fromfile(config).model).eval()
    load_checkpoint(model, checkpoint, map_location='cpu')
    export_onnx(model, path, (TEST_SHORT_SIDE, 128))
    return path


def scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A bright textured ellipse on a darker gradient: ``H x W x 3`` uint8 BGR."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx = rng.uniform(0.35, 0.65, 2) * (height, width)
    inside = ((yy - cy) / (0.3 * height))**2 + ((xx - cx) / (0.25 * width))**2 <= 1
    image = np.where(inside[..., None], rng.uniform(150, 230, 3), rng.uniform(20, 90, 3))
    image = image + (xx / width)[..., None] * 40 + rng.normal(0, 10, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)
