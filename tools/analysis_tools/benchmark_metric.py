"""Benchmark ForegroundMetric against a plain loop over pysodmetrics on the same synthetic maps.

Prints, for each metric set: images per second of both (this process's CPU time, the paths
interleaved image by image so that other load on a shared machine hits them alike; best of
``--repeats``),
their ratio (ours / plain; target >= 0.95 single-process), and the peak Python/numpy memory
(tracemalloc) of each at N and 10 N maps (both keep a few values per image: ForegroundMetric one record
of scalars and 256-value curves, the plain loop pysodmetrics' per-image lists; neither keeps pixels).
The maps are deterministic: a blob mask and a noisy, blurred prediction of it.

Example:
    python tools/analysis_tools/benchmark_metric.py --num-maps 200 --size 512 --sets cod all
"""
import argparse
import gc
import time
import tracemalloc

import cv2
import numpy as np
import py_sod_metrics as psm
import torch

from focus_mm.datasets.mask_io import probability_to_uint8
from focus_mm.evaluation.metrics import METRIC_NAMES, TASK_METRICS, ForegroundMetric

SETS = dict(all=METRIC_NAMES, **TASK_METRICS)


def make_maps(num: int, size: int, seed: int = 0):
    """``num`` (uint8 prediction, bool gt) pairs of size x size."""
    rng = np.random.default_rng(seed)
    maps = []
    for _ in range(num):
        gt = np.zeros((size, size), np.uint8)
        centre = rng.integers(size // 4, 3 * size // 4, 2)
        axes = rng.integers(size // 10, size // 4, 2)
        cv2.ellipse(gt, tuple(int(c) for c in centre), tuple(int(a) for a in axes),
                    float(rng.uniform(0, 180)), 0, 360, 1, -1)
        noisy = gt * rng.uniform(0.6, 0.9) + rng.normal(0.15, 0.15, gt.shape)
        pred = cv2.GaussianBlur(np.clip(noisy, 0, 1).astype(np.float32), (0, 0), 3)
        maps.append((probability_to_uint8(pred), gt.astype(bool)))
    return maps


class PlainLoop:
    """What an evaluation script does with pysodmetrics: one object per metric, ``step`` per image."""

    def __init__(self, metrics):
        need = set(metrics)
        self.objs = {}
        if 'Sm' in need:
            self.objs['sm'] = psm.Smeasure()
        if 'wFm' in need:
            self.objs['wfm'] = psm.WeightedFmeasure()
        if 'MAE' in need:
            self.objs['mae'] = psm.MAE()
        if need & {'adpEm', 'meanEm', 'maxEm'}:
            self.objs['em'] = psm.Emeasure()
        handlers = {}
        if need & {'adpFm', 'meanFm', 'maxFm'}:
            handlers['fm'] = psm.FmeasureHandler(with_dynamic=True, with_adaptive=True, beta=0.3)
        if need & {'BER', 'IoU', 'Dice'}:
            kw = dict(with_dynamic=False, with_adaptive=False, with_binary=True, sample_based=False)
            handlers.update(ber=psm.BERHandler(**kw), iou=psm.IOUHandler(**kw), dice=psm.DICEHandler(**kw))
        if 'F1' in need:
            handlers['f1'] = psm.FmeasureHandler(with_dynamic=False, with_adaptive=False, with_binary=True,
                                                 sample_based=True, beta=1.0)
        if 'AUC' in need:
            handlers['tpr'] = psm.RecallHandler(with_dynamic=True, with_adaptive=False)
            handlers['fpr'] = psm.FPRHandler(with_dynamic=True, with_adaptive=False)
        if handlers:
            self.objs['fmv2'] = psm.FmeasureV2(metric_handlers=handlers)

    def step(self, pred, gt_u8):
        for obj in self.objs.values():
            obj.step(pred=pred, gt=gt_u8)

    def results(self):
        return {k: v.get_results() for k, v in self.objs.items()}


def run_ours(maps, metrics, repeat=1):
    metric = ForegroundMetric(metrics=metrics, minmax_normalize=True, group_by=None)
    n = 0
    for _ in range(repeat):
        for pred, gt in maps:
            sample = dict(img_path=f'{n}.png',
                          seg_logits=dict(data=torch.from_numpy(pred)[None].float().div_(255)),
                          gt_sem_seg=dict(data=torch.from_numpy(gt)[None].long()))
            metric.process(None, [sample])
            n += 1
    return metric.evaluate(n)


def run_ours_arrays(maps, metrics, repeat=1, num_workers=0):
    """ForegroundMetric fed the same uint8 arrays as the plain loop (no tensor conversion)."""
    metric = ForegroundMetric(metrics=metrics, minmax_normalize=True, group_by=None, num_workers=num_workers)
    for _ in range(repeat):
        for pred, gt in maps:
            metric.add_pair(pred, gt)
    return metric.evaluate(len(maps) * repeat)


def run_plain(maps, metrics, repeat=1):
    loop = PlainLoop(metrics)
    for _ in range(repeat):
        for pred, gt in maps:
            loop.step(pred, gt.astype(np.uint8) * 255)
    return loop.results()


def interleaved_cpu_seconds(maps, metrics):
    """CPU seconds of the plain loop, ``ForegroundMetric.process`` and ``.add_pair``, image by image."""
    process_metric = ForegroundMetric(metrics=metrics, minmax_normalize=True, group_by=None)
    array_metric = ForegroundMetric(metrics=metrics, minmax_normalize=True, group_by=None)
    plain = PlainLoop(metrics)
    secs = dict(plain=0.0, process=0.0, arrays=0.0)
    clock = time.process_time
    for i, (pred, gt) in enumerate(maps):
        order = ('plain', 'process', 'arrays')[i % 3:] + ('plain', 'process', 'arrays')[:i % 3]
        for key in order:
            start = clock()
            if key == 'plain':
                plain.step(pred, gt.astype(np.uint8) * 255)
            elif key == 'process':
                sample = dict(img_path=f'{i}.png',
                              seg_logits=dict(data=torch.from_numpy(pred)[None].float().div_(255)),
                              gt_sem_seg=dict(data=torch.from_numpy(gt)[None].long()))
                process_metric.process(None, [sample])
            else:
                array_metric.add_pair(pred, gt)
            secs[key] += clock() - start
    for key, fn in (('plain', plain.results), ('process', lambda: process_metric.evaluate(len(maps))),
                    ('arrays', lambda: array_metric.evaluate(len(maps)))):
        start = clock()
        fn()
        secs[key] += clock() - start
    return secs


def timed(fn, *args, cpu=True, **kwargs):
    """Seconds ``fn`` takes: this process's CPU time (robust on a shared machine) or wall time."""
    gc.collect()
    clock = time.process_time if cpu else time.perf_counter
    start = clock()
    fn(*args, **kwargs)
    return clock() - start


def peak_mb(fn, *args, **kwargs):
    gc.collect()
    tracemalloc.start()
    fn(*args, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--num-maps', type=int, default=200)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--sets', nargs='+', default=['cod', 'all'], choices=sorted(SETS))
    parser.add_argument('--memory-scale', type=int, default=10, help='memory is also measured at N x this')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3, help='timed runs of each (best one counts)')
    parser.add_argument('--workers', type=int, default=0, help='also time ForegroundMetric(num_workers=W)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    import logging
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no metric tables in the output

    maps = make_maps(args.num_maps, args.size)
    print(f'{args.num_maps} maps of {args.size}x{args.size}, {args.threads} thread(s), single process')
    for name in args.sets:
        metrics = SETS[name]
        interleaved_cpu_seconds(maps[:3], metrics)  # warm-up
        # Interleaved per image: the three paths see the same load on a shared machine at the same
        # moment; each is charged this process's CPU time for its own work.
        secs = {k: float('inf') for k in ('plain', 'process', 'arrays')}
        for _ in range(args.repeats):
            for key, value in interleaved_cpu_seconds(maps, metrics).items():
                secs[key] = min(secs[key], value)
        ips = {k: args.num_maps / v for k, v in secs.items()}
        print(f'[{name}: {", ".join(metrics)}]')
        print(f'  throughput (CPU time): plain pysodmetrics loop {ips["plain"]:.2f} img/s; '
              f'ForegroundMetric.process (tensors in) {ips["process"]:.2f} img/s, '
              f'ratio {ips["process"] / ips["plain"]:.3f}; '
              f'ForegroundMetric.add_pair (uint8 arrays in) {ips["arrays"]:.2f} img/s, '
              f'ratio {ips["arrays"] / ips["plain"]:.3f}')
        if args.workers > 0:
            t_par = timed(run_ours_arrays, maps, metrics, num_workers=args.workers, cpu=False)
            t_plain_wall = timed(run_plain, maps, metrics, cpu=False)
            print(f'  wall clock, add_pair with num_workers={args.workers}: '
                  f'{args.num_maps / t_par:.2f} img/s '
                  f'vs plain loop {args.num_maps / t_plain_wall:.2f} img/s, ratio {t_plain_wall / t_par:.3f}')
        for scale in (1, args.memory_scale):
            n = args.num_maps * scale
            m_ours = peak_mb(run_ours, maps, metrics, repeat=scale)
            m_plain = peak_mb(run_plain, maps, metrics, repeat=scale)
            print(f'  peak traced memory at {n} maps: ForegroundMetric {m_ours:.1f} MiB, '
                  f'plain loop {m_plain:.1f} MiB')


if __name__ == '__main__':
    main()
