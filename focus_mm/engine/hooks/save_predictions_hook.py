"""Write each test prediction as PNGs (what ``tools/test.py --out`` uses)."""
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np
import torch
from mmengine.hooks import Hook

from mmseg.registry import HOOKS

from ...datasets.mask_io import probability_to_uint8


def _image_roots(dataset) -> List[str]:
    """The image folders of a dataset (or of every part of a Concat/Repeat dataset), longest first."""
    roots, stack = [], [dataset]
    while stack:
        ds = stack.pop()
        if hasattr(ds, 'datasets'):
            stack.extend(ds.datasets)
        elif hasattr(ds, 'dataset'):
            stack.append(ds.dataset)
        else:
            root = (getattr(ds, 'data_prefix', None) or {}).get('img_path')
            if root:
                roots.append(osp.normpath(root))
    return sorted(set(roots), key=len, reverse=True)


@HOOKS.register_module()
class SaveForegroundPredictionsHook(Hook):
    """Save ``<name>_mask.png`` (0/255 decision) and ``<name>_prob.png`` (probability) per image.

    Predictions are at the original image size (after mmseg's ``postprocess_result``). With several
    test sets (``dataset_name`` in the metainfo) each gets its own sub-folder. Inside it, an image keeps
    its path relative to its dataset's image folder (``Imgs/sub/a.jpg`` -> ``sub/a_mask.png``), so two
    images with one name in different folders never overwrite each other; two samples that would still
    write the same file stop the run, naming both.

    The probability is written with :func:`focus_mm.datasets.mask_io.probability_to_uint8`
    (``floor(p * 255 + 0.5)``), the rule ``ForegroundMetric`` scores, so evaluating the saved PNGs gives
    the metric's numbers. A map with NaN or infinite values is not saved: the run stops naming the image.

    Args:
        out_dir (str): Output folder; created if missing.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self._roots: List[str] = []
        self._written: Dict[str, str] = {}

    def before_test(self, runner) -> None:
        dataloader = getattr(runner, 'test_dataloader', None)
        dataset = getattr(dataloader, 'dataset', None)
        self._roots = _image_roots(dataset) if dataset is not None else []
        self._written = {}

    def _relative_stem(self, img_path: str) -> str:
        path = osp.normpath(img_path)
        for root in self._roots:
            if path.startswith(root + os.sep):
                return osp.splitext(osp.relpath(path, root))[0]
        return osp.splitext(osp.basename(path))[0]

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for sample in outputs or []:
            img_path = sample.metainfo.get('img_path', f'{batch_idx}.png')
            stem = self._relative_stem(img_path)
            base = osp.join(self.out_dir, sample.metainfo.get('dataset_name', '') or '', stem)
            if base in self._written:
                raise RuntimeError(f'SaveForegroundPredictionsHook: {img_path!r} and {self._written[base]!r} '
                                   f'would both be written to {base}_mask.png; give the test sets distinct '
                                   '`dataset_name`s or the images distinct names.')
            self._written[base] = img_path
            has_prob = 'seg_logits' in sample and sample.seg_logits.data.shape[0] == 1
            if has_prob:
                prob = sample.seg_logits.data[0]
                if not bool(torch.isfinite(prob).all()):
                    bad = int((~torch.isfinite(prob)).sum())
                    raise ValueError(f'SaveForegroundPredictionsHook: the probability map of {img_path!r} '
                                     f'holds {bad} NaN/inf value(s); nothing is saved for it. The checkpoint '
                                     'or the model has non-finite weights.')
            os.makedirs(osp.dirname(base), exist_ok=True)
            mask = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8) * np.uint8(255)
            ok = cv2.imwrite(f'{base}_mask.png', mask)
            if has_prob:
                ok &= cv2.imwrite(f'{base}_prob.png', probability_to_uint8(prob))
            if not ok:
                raise OSError(f'SaveForegroundPredictionsHook: could not write {base}_mask.png / _prob.png')
