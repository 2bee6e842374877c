"""Picture grid of a model on its test set: image | ground truth | prediction (one row per image).

A test set whose samples carry a task (e.g. the universal configs' union of the five tasks) gets the
task written on each row; a universal model predicts every image under that image's own task, and
``--per-task N`` picks N images of each task (one checkpoint switching tasks, row by row).

Examples:
    python tools/analysis_tools/show_grid.py CONFIG CHECKPOINT --num 6 --out work_dirs/demo/grid.png
    python tools/analysis_tools/show_grid.py UNIVERSAL_CONFIG CHECKPOINT --per-task 1 --out grid.png
"""
import argparse
import os.path as osp
import sys

import cv2
import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description='image | ground truth | prediction grid')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--num', type=int, default=6, help='rows (test images, evenly spaced)')
    parser.add_argument('--per-task', type=int, default=0,
                        help='instead of --num: this many images of each task (middle of its set)')
    parser.add_argument('--height', type=int, default=160, help='row height in pixels')
    parser.add_argument('--out', default='grid.png')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def _fit(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    img = cv2.resize(img, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)
    return img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


def main():
    args = parse_args()
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import focus_mm  # noqa: F401
    from focus_mm.apis import FocusInferencer, read_image, set_inference_task
    from focus_mm.datasets.mask_io import read_foreground_mask
    from mmseg.registry import DATASETS

    cfg = Config.fromfile(args.config)
    init_default_scope('mmseg')
    dataset_cfg = cfg.test_dataloader.dataset
    dataset = DATASETS.build(dict(dataset_cfg, lazy_init=False))
    all_infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    if args.per_task > 0:
        by_task = {}
        for info in all_infos:
            by_task.setdefault(info.get('task'), []).append(info)
        infos = []
        for group in by_task.values():
            picks = np.linspace(0, len(group) - 1, num=min(args.per_task, len(group)) + 2)[1:-1]
            infos += [group[int(round(i))] for i in picks]
    else:
        picks = np.linspace(0, len(dataset) - 1, num=min(args.num, len(dataset))).round().astype(int)
        infos = [all_infos[int(i)] for i in picks]
    images = [read_image(info['img_path']) for info in infos]
    tasks = [info.get('task') for info in infos]
    # A universal model is given each image's own task; a single-task model ignores it.
    inferencer = FocusInferencer(cfg, args.checkpoint, device=args.device, task=tasks[0])
    results = [None] * len(images)
    for task in dict.fromkeys(tasks):
        set_inference_task(inferencer.model, task, cfg=cfg)
        indices = [i for i, t in enumerate(tasks) if t == task]
        for i, result in zip(indices, inferencer([images[i] for i in indices])):
            results[i] = result

    rows = []
    for info, image, result, task in zip(infos, images, results, tasks):
        gt = read_foreground_mask(info["seg_map_path"]) * 255
        cells = [_fit(image, args.height), _fit(gt.astype(np.uint8), args.height),
                 _fit(result.mask * 255, args.height)]
        if task is not None:
            cv2.putText(cells[0], task, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3)
            cv2.putText(cells[0], task, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        rows.append(np.concatenate([np.pad(c, ((2, 2), (2, 2), (0, 0)), constant_values=255) for c in cells],
                                   axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    header = np.full((24, width, 3), 255, np.uint8)
    titles = ('image', 'ground truth', 'prediction' + (' (its task)' if any(tasks) else ''))
    for k, title in enumerate(titles):
        cv2.putText(header, title, (6 + k * (width // 3), 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    grid = np.concatenate([header] + rows, axis=0)
    if not cv2.imwrite(args.out, grid):
        sys.exit(f'could not write {args.out}')
    print(f'grid of {len(rows)} test images written to {osp.abspath(args.out)}')


if __name__ == '__main__':
    main()
