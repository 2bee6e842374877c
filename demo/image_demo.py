"""Segment one image with the Python API: the smallest complete use of FocusInferencer.

    python demo/image_demo.py IMAGE CONFIG CHECKPOINT [--out overlay.png] [--task sod] [--device cpu]

For folders, batches and the probability map use tools/infer.py; for videos demo/video_demo.py.
"""
from argparse import ArgumentParser

import cv2

from focus_mm.apis import FocusInferencer
from focus_mm.datasets.image_io import read_image
from focus_mm.utils import overlay_mask


def main():
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='model checkpoint (.pth)')
    parser.add_argument('--out', default='overlay.png', help='where the overlay goes (default: overlay.png)')
    parser.add_argument('--task', help='the task of a universal checkpoint: sod, cod, sd, dbd or fd')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda[:N]'")
    args = parser.parse_args()

    inferencer = FocusInferencer(args.config, args.checkpoint, device=args.device, task=args.task)
    image = read_image(args.image)  # BGR, EXIF orientation applied: the pixels tools/test.py sees
    result = inferencer(image)[0]  # mask (H x W, 1 = foreground) and prob at the image's size
    if not cv2.imwrite(args.out, overlay_mask(image, result.mask)):
        raise SystemExit(f'could not write {args.out}: check the folder exists and the suffix is an image')
    print(f'foreground: {result.mask.mean():.1%} of the image; overlay written to {args.out}')


if __name__ == '__main__':
    main()
