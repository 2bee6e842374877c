"""ForegroundMetric on 2 processes (gloo, CPU) with a padded last batch: the table of one process."""
import json
import multiprocessing as mp
import os
import socket

import numpy as np
import pytest

NUM_IMAGES = 5  # 2 ranks: DefaultSampler pads to 6, rank 1's last sample repeats image 0


def _pairs():
    rng = np.random.default_rng(3)
    pairs = []
    for i in range(NUM_IMAGES):
        yy, xx = np.mgrid[:32, :40]
        gt = (yy - 16) ** 2 + (xx - 20) ** 2 <= (5 + 2 * i) ** 2
        # image 0 is far off (inverted): counting it twice would move every metric
        pred = (~gt if i == 0 else gt) * 200.0 + rng.normal(20, 15, gt.shape)
        pairs.append((np.clip(pred, 0, 255) / 255.0, gt, 'A' if i % 2 == 0 else 'B'))
    return pairs


def _samples(indices):
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    pairs = _pairs()
    for i in indices:
        prob, gt, group = pairs[i]
        sample = SegDataSample(metainfo=dict(img_path=f'{i}.png', dataset_name=group))
        sample.seg_logits = PixelData(data=torch.as_tensor(prob, dtype=torch.float32)[None])
        sample.gt_sem_seg = PixelData(data=torch.as_tensor(gt, dtype=torch.int64)[None])
        yield sample.to_dict()


def _metric(out_dir):
    from focus_mm.evaluation.metrics import METRIC_NAMES, ForegroundMetric
    return ForegroundMetric(metrics=METRIC_NAMES, output_dir=out_dir)


def _worker(rank, world_size, port, out_dir, queue):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), OMP_NUM_THREADS='1')
    import torch.distributed as dist
    from mmengine.dataset import DefaultSampler
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    try:
        indices = list(DefaultSampler(list(range(NUM_IMAGES)), shuffle=False, round_up=True))
        metric = _metric(out_dir if rank == 0 else None)
        for sample in _samples(indices):  # one per batch: the last batch of rank 1 is the padding
            metric.process(None, [sample])
        queue.put((rank, indices, metric.evaluate(NUM_IMAGES)))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_ranks_with_a_padded_last_batch_give_the_single_process_table(tmp_path):
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(rank, 2, port, str(tmp_path / 'ddp'), queue))
             for rank in range(2)]
    for p in procs:
        p.start()
    results = dict((rank, (indices, res)) for rank, indices, res in (queue.get(timeout=300) for _ in procs))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert results[0][0] == [0, 2, 4] and results[1][0] == [1, 3, 0]  # image 0 repeated as padding
    serial = _metric(str(tmp_path / 'serial'))
    for sample in _samples(range(NUM_IMAGES)):
        serial.process(None, [sample])
    expected = serial.evaluate(NUM_IMAGES)
    # every rank receives rank 0's table (BaseMetric.evaluate broadcasts it)
    for rank in (0, 1):
        assert results[rank][1] == pytest.approx(expected, abs=1e-12, nan_ok=True)
    saved = json.load(open(tmp_path / 'ddp' / 'foreground_metrics.json'))
    assert saved['num_images'] == dict(A=3, B=2)
    # with the padding counted the table would differ (the check above can fail)
    padded = _metric(None)
    for sample in _samples([0, 1, 2, 3, 4, 0]):
        padded.process(None, [sample])
    assert padded.evaluate(6)['A/Sm'] != pytest.approx(expected['A/Sm'], abs=1e-6)
