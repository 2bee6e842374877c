"""Build (or check) the mini-benchmark cache ahead of training; the datasets also build it on first use.

Examples:
    python tools/generate_mini_bench.py                      # all five tasks into data/mini_bench
    python tools/generate_mini_bench.py --tasks sod cod --root /tmp/mini --num-train 60 --num-test 20
"""
import argparse
import time

from focus_mm.datasets.mini_bench import TASKS, default_root, ensure_mini_bench


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--tasks', nargs='+', default=list(TASKS), choices=TASKS)
    parser.add_argument('--root', default=None, help=f'cache folder (default: {default_root()})')
    parser.add_argument('--num-train', type=int, default=60)
    parser.add_argument('--num-test', type=int, default=20)
    parser.add_argument('--size-range', type=int, nargs=2, default=(256, 320), metavar=('MIN', 'MAX'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    for task in args.tasks:
        start = time.perf_counter()
        folder = ensure_mini_bench(task, root=args.root, num_train=args.num_train, num_test=args.num_test,
                                   size_range=tuple(args.size_range), seed=args.seed)
        print(f'{task}: {folder} ({time.perf_counter() - start:.1f} s)')


if __name__ == '__main__':
    main()
