"""Segment the mask of interest in your own images.

For each image it writes, at the image's original size:
    <name>_mask.png     0/255 binary mask (foreground where P_fg > P_bg)
    <name>_prob.png     foreground probability, floor(p * 255 + 0.5) (the rule ForegroundMetric scores)
    <name>_overlay.png  the image with the foreground tinted

Examples:
    python tools/infer.py photo.jpg CONFIG CHECKPOINT --out-dir outputs/
    python tools/infer.py my_folder/ CONFIG CHECKPOINT --out-dir outputs/ --batch-size 8
    python tools/infer.py "shots/*.png" CONFIG CHECKPOINT --device cuda
    python tools/infer.py my_folder/ CONFIG model.onnx --backend onnxruntime  # docs/user_guides/deployment.md
    python tools/infer.py photo.jpg UNIVERSAL_CONFIG CHECKPOINT --task cod   # a universal checkpoint's task
A file that cannot be read (missing, corrupt, truncated) and an image for which the model gives NaN or
infinite values are reported and skipped; the exit code is 1 when any image failed. Files are read as
in the test pipeline (EXIF orientation applied; GIFs read; see focus_mm/datasets/image_io.py). Memory:
the model runs at its test size and only the final maps are brought to the image's size, one image at
a time; besides the model, the images of one batch (3 bytes per pixel) and the maps of the image being
written (about 9 bytes per pixel) are held.
"""
import argparse
import glob
import os.path as osp
import sys

import cv2
import numpy as np

from focus_mm.utils.cli import check_work_dir


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def parse_args():
    parser = argparse.ArgumentParser(description='Foreground segmentation of images with a focus_mm model')
    parser.add_argument('inputs', help='an image file, a folder of images, or a glob pattern (quote it)')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint',
                        help='model checkpoint (.pth), or the .onnx file with --backend onnxruntime')
    parser.add_argument('--out-dir', default='outputs', help='where the PNGs go (default: outputs/)')
    parser.add_argument('--batch-size', type=positive_int, default=4, help='images per forward pass (>= 1)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda[:N]'")
    parser.add_argument('--alpha', type=float, default=0.5, help='overlay opacity')
    parser.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch',
                        help='onnxruntime: run an export of tools/deployment/pytorch2onnx.py (CPU)')
    parser.add_argument('--task', help="the task for a universal checkpoint (required there): sod, cod, sd, "
                        "dbd or fd; a single-task checkpoint ignores it, with a warning when it differs")
    return parser.parse_args()


def collect_inputs(spec: str) -> list:
    """Expand a file, a folder (its images, sorted; suffixes matched in any case) or a glob into paths."""
    from focus_mm.datasets.image_io import IMAGE_SUFFIXES, list_images

    if osp.isdir(spec):
        paths = list_images(spec)
    elif osp.isfile(spec):
        paths = [spec]
    else:
        paths = sorted(p for p in glob.glob(spec) if osp.isfile(p))
    if not paths:
        raise SystemExit(f'no images found for {spec!r} (looked for {", ".join(IMAGE_SUFFIXES)})')
    return paths


def unique_stem(path: str, used: set) -> str:
    """The file name without suffix, made unique when two inputs share it (a.jpg, a.png)."""
    stem = osp.splitext(osp.basename(path))[0]
    candidate, k = stem, 1
    while candidate in used:
        candidate, k = f'{stem}_{k}', k + 1
    used.add(candidate)
    return candidate


def main():
    args = parse_args()
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise SystemExit(f'{what} not found: {path}')
    paths = collect_inputs(args.inputs)
    check_work_dir(args.out_dir)

    from mmengine.utils import ProgressBar

    from focus_mm.apis import FocusInferencer, NonFiniteOutputError
    from focus_mm.datasets.image_io import read_image
    from focus_mm.datasets.mask_io import probability_to_uint8
    from focus_mm.utils import overlay_mask
    try:
        inferencer = FocusInferencer(args.config, args.checkpoint, device=args.device,
                                     batch_size=args.batch_size, backend=args.backend, task=args.task)
    except ValueError as err:  # a universal checkpoint without a task, or with one it does not know
        raise SystemExit(f'[infer] {err}')

    failed, written, used = [], [], set()
    bar = ProgressBar(len(paths))
    batch_paths, batch_images = [], []

    def fail(path, err):
        failed.append((path, str(err)))
        print(f'\n[infer] failed {path}: {err}', file=sys.stderr)
        bar.update()

    def write(path, image, result):
        out = osp.join(args.out_dir, unique_stem(path, used))
        ok = cv2.imwrite(out + '_mask.png', result.mask * np.uint8(255))
        ok &= cv2.imwrite(out + '_prob.png', probability_to_uint8(result.prob))
        result.prob = None  # the float map is the largest array: free it before the overlay
        ok &= cv2.imwrite(out + '_overlay.png', overlay_mask(image, result.mask, args.alpha))
        if not ok:
            raise SystemExit(f'could not write the outputs for {path} into {args.out_dir}')
        written.append(path)
        bar.update()

    def flush():
        done = 0
        try:  # results come one at a time: only one full-size map lives at once
            results = inferencer.iter_predictions(batch_images)
            for path, image, result in zip(batch_paths, batch_images, results):
                write(path, image, result)
                done += 1
        except NonFiniteOutputError:
            # Find which of the remaining images fail: each alone (only when the model is broken).
            for path, image in zip(batch_paths[done:], batch_images[done:]):
                try:
                    result = inferencer([image], batch_size=1)[0]
                except NonFiniteOutputError:
                    fail(path, 'the model output holds NaN or infinite values for this image (no mask '
                         'written); the checkpoint or the model has non-finite weights')
                    continue
                write(path, image, result)
        batch_paths.clear()
        batch_images.clear()

    for path in paths:
        try:
            image = read_image(path)
        except ValueError as err:
            fail(path, err)
            continue
        batch_paths.append(path)
        batch_images.append(image)
        if len(batch_paths) == args.batch_size:
            flush()
    if batch_paths:
        flush()

    print(f'\n[infer] {len(written)} image(s) written to {args.out_dir}; {len(failed)} failed')
    for path, err in failed:
        print(f'[infer]   failed: {path}: {err}')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
