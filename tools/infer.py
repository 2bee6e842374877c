"""Segment the mask of interest in your own images.

For each image it writes, at the image's original size:
    <name>_mask.png     0/255 binary mask (foreground where P_fg > P_bg)
    <name>_prob.png     foreground probability x 255
    <name>_overlay.png  the image with the foreground tinted

Examples:
    python tools/infer.py photo.jpg CONFIG CHECKPOINT --out-dir outputs/
    python tools/infer.py my_folder/ CONFIG CHECKPOINT --out-dir outputs/ --batch-size 8
    python tools/infer.py "shots/*.png" CONFIG CHECKPOINT --device cuda
    python tools/infer.py my_folder/ CONFIG model.onnx --backend onnxruntime   # see docs/deployment.md
A file that cannot be read is reported and skipped; the exit code is 1 when any image failed.
"""
import argparse
import glob
import os
import os.path as osp
import sys

import cv2
import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import check_work_dir  # noqa: E402

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args():
    parser = argparse.ArgumentParser(description='Foreground segmentation of images with a focus_mm model')
    parser.add_argument('inputs', help='an image file, a folder of images, or a glob pattern (quote it)')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='model checkpoint (.pth), or the .onnx file with --backend onnxruntime')
    parser.add_argument('--out-dir', default='outputs', help='where the PNGs go (default: outputs/)')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda[:N]'")
    parser.add_argument('--alpha', type=float, default=0.5, help='overlay opacity')
    parser.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch',
                        help='onnxruntime: run an export of tools/deployment/pytorch2onnx.py (CPU)')
    return parser.parse_args()


def collect_inputs(spec: str) -> list:
    """Expand a file, a folder (its images, sorted) or a glob into a list of paths."""
    if osp.isdir(spec):
        paths = sorted(osp.join(spec, f) for f in os.listdir(spec) if f.lower().endswith(IMAGE_SUFFIXES))
    elif osp.isfile(spec):
        paths = [spec]
    else:
        paths = sorted(p for p in glob.glob(spec) if osp.isfile(p))
    if not paths:
        raise SystemExit(f'no images found for {spec!r} (looked for {", ".join(IMAGE_SUFFIXES)})')
    return paths


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float) -> np.ndarray:
    """Tint the foreground of a BGR image red and draw its outline."""
    tinted = image.copy()
    red = np.zeros_like(image)
    red[..., 2] = 255
    fg = mask.astype(bool)
    tinted[fg] = (image[fg] * (1 - alpha) + red[fg] * alpha).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(tinted, contours, -1, (0, 255, 255), 1)
    return tinted


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

    from focus_mm.apis import FocusInferencer, read_image
    inferencer = FocusInferencer(args.config, args.checkpoint, device=args.device, batch_size=args.batch_size,
                                 backend=args.backend)

    # Read every file first, so that one bad file is reported and the rest still run in full batches.
    failed, readable, used = [], [], set()
    bar = ProgressBar(len(paths))
    batch_paths, batch_images = [], []

    def flush():
        for path, image, result in zip(batch_paths, batch_images,
                                       inferencer(batch_images, batch_size=args.batch_size)):
            stem = unique_stem(path, used)
            out = osp.join(args.out_dir, stem)
            ok = cv2.imwrite(out + '_mask.png', result.mask * 255)
            ok &= cv2.imwrite(out + '_prob.png', np.round(result.prob * 255).astype(np.uint8))
            ok &= cv2.imwrite(out + '_overlay.png', overlay(image, result.mask, args.alpha))
            if not ok:
                raise SystemExit(f'could not write the outputs for {path} into {args.out_dir}')
            readable.append(path)
            bar.update()
        batch_paths.clear()
        batch_images.clear()

    for path in paths:
        try:
            image = read_image(path)
        except ValueError as err:
            failed.append((path, str(err)))
            print(f'\n[infer] skipped {path}: {err}', file=sys.stderr)
            bar.update()
            continue
        batch_paths.append(path)
        batch_images.append(image)
        if len(batch_paths) == args.batch_size:
            flush()
    if batch_paths:
        flush()

    print(f'\n[infer] {len(readable)} image(s) written to {args.out_dir}; {len(failed)} failed')
    for path, err in failed:
        print(f'[infer]   failed: {path}: {err}')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
