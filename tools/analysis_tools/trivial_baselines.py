"""Metrics of trivial predictors on a config's test split, to put a model's numbers in context.

- all-background: P(fg) = 0 everywhere;
- centre prior: P(fg) = a Gaussian centred on the image (sigma = a quarter of each side), the classic
  saliency baseline.

Example:
    python tools/analysis_tools/trivial_baselines.py configs/focus/focus_mini_1xb8-300_sod-256x256.py
"""
import argparse

import numpy as np


def centre_prior(height: int, width: int) -> np.ndarray:
    """A centred Gaussian in [0, 1] with sigma = 1/4 of each side."""
    y = (np.arange(height) - (height - 1) / 2) / (height / 4)
    x = (np.arange(width) - (width - 1) / 2) / (width / 4)
    return np.exp(-0.5 * (y[:, None]**2 + x[None, :]**2))


BASELINES = {
    'all-background': lambda h, w: np.zeros((h, w)),
    'centre prior': centre_prior,
}


def main():
    parser = argparse.ArgumentParser(description='trivial baselines on a config\'s test split')
    parser.add_argument('config')
    args = parser.parse_args()

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import focus_mm  # noqa: F401
    from focus_mm.datasets.mask_io import probability_to_uint8, read_foreground_mask
    from focus_mm.evaluation.metrics import MultiTaskForegroundMetric
    from mmseg.registry import DATASETS, METRICS

    cfg = Config.fromfile(args.config)
    init_default_scope('mmseg')
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, lazy_init=False))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    masks = [read_foreground_mask(info['seg_map_path']) for info in infos]
    for name, predictor in BASELINES.items():
        print(f'\n[baseline] {name}')
        metric = METRICS.build(dict(cfg.test_evaluator, output_dir=None))
        # a multi-task evaluator (universal configs) scores each image with its own task's metrics
        multi_task = isinstance(metric, MultiTaskForegroundMetric)
        for info, gt in zip(infos, masks):
            prob = predictor(*gt.shape)
            kwargs = dict(task=info.get('task'), group=info.get('dataset_name')) if multi_task else {}
            metric.add_pair(probability_to_uint8(prob), gt, **kwargs)
        metric.evaluate(len(masks))


if __name__ == '__main__':
    main()
