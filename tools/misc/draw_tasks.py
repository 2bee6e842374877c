"""Picture of the five tasks: one mini-benchmark test image of each task above its ground truth.

The images are generated (``focus_mm.datasets.mini_bench.make_sample``), so the picture needs no
dataset and no checkpoint; it is the one at the top of the README.

Example:
    python tools/misc/draw_tasks.py --out docs/_static/five_tasks.png
"""
import argparse
import os.path as osp
import sys

import cv2
import numpy as np

TITLES = dict(sod='salient object', cod='camouflaged', sd='shadow', dbd='in focus', fd='forgery')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='one image and its mask per task, from the mini-benchmark')
    parser.add_argument('--out', default='five_tasks.png', help='PNG file to write')
    parser.add_argument('--index', type=int, nargs=5, default=[3, 2, 1, 0, 4], metavar='I',
                        help='the test sample of each task (sod cod sd dbd fd)')
    parser.add_argument('--size', type=int, default=140, help='side of each cell in pixels')
    parser.add_argument('--colors', type=int, default=128,
                        help='palette size of the PNG (0: full colour); a palette keeps the file small')
    return parser.parse_args(argv)


def draw(indices, size: int) -> np.ndarray:
    """The picture: a column per task, image above ground truth (white = foreground), titled.

    Args:
        indices (Sequence[int]): the test sample of each task, in the order of ``TASKS``.
        size (int): side of each square cell in pixels.

    Returns:
        np.ndarray: H x W x 3 uint8 BGR.
    """
    from focus_mm.datasets.mini_bench import TASKS, make_sample

    columns = []
    for task, index in zip(TASKS, indices):
        sample = make_sample(task, 'test', index)
        image = cv2.resize(sample.image, (size, size), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(sample.mask.astype(np.uint8) * 255, (size, size), interpolation=cv2.INTER_NEAREST)
        title = np.full((22, size, 3), 255, np.uint8)
        cv2.putText(title, f'{task}: {TITLES[task]}', (3, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                    (0, 0, 0), 1, cv2.LINE_AA)
        cells = [title, image, np.full((3, size, 3), 255, np.uint8), cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)]
        columns.append(np.pad(np.concatenate(cells), ((0, 0), (2, 2), (0, 0)), constant_values=255))
    return np.concatenate(columns, axis=1)


def main(argv=None) -> int:
    args = parse_args(argv)
    picture = draw(args.index, args.size)
    from PIL import Image
    image = Image.fromarray(np.ascontiguousarray(picture[..., ::-1]))
    if args.colors:
        image = image.quantize(colors=args.colors)
    try:
        image.save(args.out, optimize=True)
    except OSError as exc:
        sys.exit(f'draw_tasks: could not write {args.out}: {exc}')
    print(f'draw_tasks: {picture.shape[1]} x {picture.shape[0]} picture written to {osp.abspath(args.out)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
