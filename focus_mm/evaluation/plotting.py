"""PNG plots of the image-averaged curves a ForegroundMetric run collects."""
import os.path as osp
import re
from typing import Dict, List, Optional

import numpy as np


def _safe(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', name) or 'dataset'


def plot_foreground_curves(curves: Dict[str, Optional[np.ndarray]], group: str, out_dir: str) -> List[str]:
    """Save the PR curve and the F-measure / E-measure threshold curves of one test set.

    Args:
        curves (dict): ``Pre_curve``, ``Rec_curve``, ``Fm_curve``, ``Em_curve``: 256 values each, for
            thresholds from >= 255 down to >= 0 (pysodmetrics' order); missing ones are skipped.
        group (str): the test set's name (title and file name).
        out_dir (str): output folder.

    Returns:
        list[str]: the written file paths.
    """
    import matplotlib
    matplotlib.use('Agg', force=False)  # files only; no display on servers
    import matplotlib.pyplot as plt

    written = []
    pre, rec = curves.get('Pre_curve'), curves.get('Rec_curve')
    if pre is not None and rec is not None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
        ax.plot(rec, pre, lw=1.5)
        ax.set(xlabel='recall', ylabel='precision', xlim=(0, 1), ylim=(0, 1.02), title=f'{group}: PR curve')
        ax.grid(alpha=0.3)
        path = osp.join(out_dir, f'{_safe(group)}_pr_curve.png')
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    thr_curves = {k: curves.get(k) for k in ('Fm_curve', 'Em_curve') if curves.get(k) is not None}
    if thr_curves:
        thresholds = np.arange(255, -1, -1)
        fig, ax = plt.subplots(figsize=(4.5, 4))
        for key, values in thr_curves.items():
            ax.plot(thresholds, values, lw=1.5, label={'Fm_curve': 'F-measure', 'Em_curve': 'E-measure'}[key])
        ax.set(xlabel='threshold (0-255)', ylabel='score', xlim=(0, 255), ylim=(0, 1.02),
               title=f'{group}: F/E-measure vs threshold')
        ax.legend()
        ax.grid(alpha=0.3)
        path = osp.join(out_dir, f'{_safe(group)}_fm_em_curves.png')
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
