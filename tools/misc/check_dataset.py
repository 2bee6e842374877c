"""Check the datasets of a config before training or testing on them.

For every split (train, val, test) and every dataset in it (the parts of a ConcatDataset one by one) it
reads each image and each mask with the readers of the pipelines (focus_mm.datasets.image_io and
mask_io) and prints: images, masks, pairs, images without a mask, masks without an image, unreadable
images, unreadable or refused masks, empty masks, image/mask size mismatches and the range of the
foreground fraction. The exit code is 1 when a problem was found: an image without a mask, a file
that cannot be read, a mask refused by the mask rules (docs/user_guides/dataset_prepare.md), a size
mismatch, a dataset that cannot be built (and, with --fail-on-empty, an empty mask). Masks without an
image and empty masks are reported but are not problems (a mask folder may serve two splits; an image
may have no foreground).

Examples:
    python tools/misc/check_dataset.py configs/focus/focus_dinov2-l_2xb4-20k_cod-512x512.py
    python tools/misc/check_dataset.py CONFIG --splits test --show 10
"""
import argparse
import copy
import sys
from collections import Counter

import numpy as np

from focus_mm.utils.cli import load_config

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Check the image/mask pairs of a config\'s datasets')
    parser.add_argument('config', help='config file')
    parser.add_argument('--splits', nargs='+', choices=SPLITS, default=list(SPLITS), help='splits to check')
    parser.add_argument('--show', type=int, default=5, help='names listed per kind of problem (default 5)')
    parser.add_argument('--fail-on-empty', action='store_true', help='count empty masks as problems')
    return parser.parse_args(argv)


def leaf_dataset_cfgs(ds_cfg):
    """The dataset configs inside Concat/Repeat/ClassBalanced wrappers, in order."""
    if 'datasets' in ds_cfg:
        for part in ds_cfg['datasets']:
            yield from leaf_dataset_cfgs(part)
    elif 'dataset' in ds_cfg:
        yield from leaf_dataset_cfgs(ds_cfg['dataset'])
    else:
        yield ds_cfg


def list_pairs(ds_cfg):
    """Build a dataset without its pipeline; return (name, data list, images without mask, unused masks)."""
    from mmseg.registry import DATASETS

    from focus_mm.datasets import ForegroundDataset

    cfg = copy.deepcopy(ds_cfg)
    cfg['pipeline'] = []
    cfg['lazy_init'] = True
    dataset = DATASETS.build(cfg)
    name = getattr(dataset, 'dataset_name', None) or cfg.get('type', '?')
    if isinstance(dataset, ForegroundDataset):
        data_list, unmatched, unused = dataset.pair_files()
        return name, data_list, unmatched, unused
    dataset.full_init()
    return name, [dataset.get_data_info(i) for i in range(len(dataset))], [], []


def check_pairs(data_list):
    """Read every pair; returns a dict of counts, problem name lists and foreground fractions."""
    from focus_mm.datasets.image_io import read_image
    from focus_mm.datasets.mask_io import read_foreground_mask

    report = dict(bad_images=[], bad_masks=[], size_mismatch=[], empty=[], fractions=[])
    for info in data_list:
        img_path, mask_path = info['img_path'], info.get('seg_map_path')
        try:
            shape = read_image(img_path).shape[:2]
        except ValueError as err:
            report['bad_images'].append(f'{img_path}: {err}')
            shape = None
        if not mask_path:
            report['bad_masks'].append(f'{img_path}: no seg_map_path')
            continue
        try:
            mask = read_foreground_mask(mask_path)
        except (OSError, ValueError) as err:
            report['bad_masks'].append(str(err))
            continue
        if shape is not None and tuple(mask.shape) != tuple(shape):
            report['size_mismatch'].append(f'{mask_path} is {mask.shape[1]}x{mask.shape[0]}, its image '
                                           f'{img_path} {shape[1]}x{shape[0]} (W x H)')
        fraction = float(mask.mean()) if mask.size else 0.0
        report['fractions'].append(fraction)
        if fraction == 0.0:
            report['empty'].append(mask_path)
    return report


def _listing(title, names, show):
    lines = [f'    {title}: {len(names)}']
    lines += [f'      {n}' for n in names[:show]]
    if len(names) > show:
        lines.append(f'      ... and {len(names) - show} more')
    return lines


def main(argv=None) -> int:
    args = parse_args(argv)
    import focus_mm  # noqa: F401  (registers the datasets)
    from mmengine.registry import init_default_scope

    cfg = load_config(args.config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    problems = Counter()
    for split in args.splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            print(f'[{split}] no {split}_dataloader in the config')
            continue
        for ds_cfg in leaf_dataset_cfgs(loader['dataset']):
            try:
                name, data_list, unmatched, unused = list_pairs(ds_cfg)
            except (FileNotFoundError, OSError, ValueError, KeyError) as err:
                print(f'[{split}] {ds_cfg.get("type", "?")} cannot be built: {err}')
                problems['datasets that cannot be built'] += 1
                continue
            report = check_pairs(data_list)
            fr = np.asarray(report['fractions'], dtype=np.float64)
            span = (f'{fr.min():.4f} .. {fr.max():.4f} (mean {fr.mean():.4f})' if fr.size else 'n/a')
            print(f'[{split}] {name}: images {len(data_list) + len(unmatched)}, masks '
                  f'{len(data_list) + len(unused)}, pairs {len(data_list)}, '
                  f'images without mask {len(unmatched)}, '
                  f'masks without image {len(unused)}, unreadable images {len(report["bad_images"])}, '
                  f'unreadable/refused masks {len(report["bad_masks"])}, empty masks {len(report["empty"])}, '
                  f'size mismatches {len(report["size_mismatch"])}, foreground fraction {span}')
            found = [('images without mask', unmatched), ('unreadable images', report['bad_images']),
                     ('unreadable/refused masks', report['bad_masks']),
                     ('size mismatches', report['size_mismatch'])]
            if args.fail_on_empty:
                found.append(('empty masks', report['empty']))
            for title, names in found:
                if names:
                    problems[title] += len(names)
                    print('\n'.join(_listing(title, names, args.show)))
            for title, names in (('masks without image', unused), ('empty masks', report['empty'])):
                if names and not (title == 'empty masks' and args.fail_on_empty):
                    print('\n'.join(_listing(title + ' (not a problem)', names, args.show)))
    if problems:
        print('PROBLEMS: ' + ', '.join(f'{k} {v}' for k, v in problems.items()))
        return 1
    print('OK: no problems found')
    return 0


if __name__ == '__main__':
    sys.exit(main())
