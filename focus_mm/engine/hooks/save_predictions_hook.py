"""Write each test prediction as PNGs (what ``tools/test.py --out`` uses)."""
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.hooks import Hook

from mmseg.registry import HOOKS


@HOOKS.register_module()
class SaveForegroundPredictionsHook(Hook):
    """Save ``<name>_mask.png`` (0/255 decision) and ``<name>_prob.png`` (probability x 255) per image.

    Predictions are at the original image size (after mmseg's ``postprocess_result``). With several
    test sets (``dataset_name`` in the metainfo) each gets its own sub-folder.

    Args:
        out_dir (str): Output folder; created if missing.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for sample in outputs or []:
            stem = osp.splitext(osp.basename(sample.metainfo.get('img_path', f'{batch_idx}.png')))[0]
            folder = osp.join(self.out_dir, sample.metainfo.get('dataset_name', '') or '')
            os.makedirs(folder, exist_ok=True)
            mask = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8) * 255
            ok = cv2.imwrite(osp.join(folder, f'{stem}_mask.png'), mask)
            if 'seg_logits' in sample and sample.seg_logits.data.shape[0] == 1:
                prob = sample.seg_logits.data[0].float().clamp(0, 1).cpu().numpy()
                ok &= cv2.imwrite(osp.join(folder, f'{stem}_prob.png'), np.round(prob * 255).astype(np.uint8))
            if not ok:
                raise OSError(f'SaveForegroundPredictionsHook: could not write {stem} into {folder}')
