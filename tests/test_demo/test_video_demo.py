"""demo/video_demo.py: frame count, size and rate kept; undecodable frames counted; masks = the API's."""
import importlib.util
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from _demo_models import REPO, scene

WIDTH, HEIGHT, FPS, SECONDS = 112, 80, 10, 3


def load_video_demo():
    spec = importlib.util.spec_from_file_location('video_demo', osp.join(REPO, 'demo', 'video_demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def moving_scene_frames(count: int):
    """A scene whose object moves right by 2 px per frame."""
    base = scene(HEIGHT, WIDTH + 2 * count, seed=1)
    return [np.ascontiguousarray(base[:, 2 * i:2 * i + WIDTH]) for i in range(count)]


def read_video(path: str):
    capture = cv2.VideoCapture(path)
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps


@pytest.fixture(scope='module')
def three_second_video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('video') / 'input.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for frame in moving_scene_frames(FPS * SECONDS):
        writer.write(frame)
    writer.release()
    return path


def test_video_demo_keeps_frame_count_size_and_rate(tiny_model, three_second_video, tmp_path):
    from focus_mm.apis import FocusInferencer

    config, checkpoint = tiny_model
    out, mask_out = str(tmp_path / 'overlay.mp4'), str(tmp_path / 'mask.avi')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'demo', 'video_demo.py'), three_second_video,
                           config, checkpoint, '--out', out, '--mask-out', mask_out, '--threads', '1'],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert f'{FPS * SECONDS} frames of {WIDTH}x{HEIGHT} at {FPS:g} fps' in log
    assert 'frames per second end to end' in log and 'could not be decoded' not in log
    inputs, _ = read_video(three_second_video)
    for path in (out, mask_out):
        frames, fps = read_video(path)
        assert len(frames) == FPS * SECONDS, path
        assert frames[0].shape == (HEIGHT, WIDTH, 3), path
        assert fps == pytest.approx(FPS), path
    # The mask video holds the API's masks of the decoded frames (Motion JPEG: lossy near edges).
    masks, _ = read_video(mask_out)
    expected = [r.mask for r in FocusInferencer(config, checkpoint)([inputs[0], inputs[-1]])]
    for got, want in zip((masks[0], masks[-1]), expected):
        assert 0.02 < want.mean() < 0.98  # not a constant mask
        assert np.mean((got[..., 0] > 127) == want.astype(bool)) > 0.98


class FlakyCapture:
    """A capture whose frames ``failing`` fail to decode; it announces ``len(frames)`` frames."""

    def __init__(self, frames, failing, announced=None):
        self.frames, self.failing, self.index = frames, set(failing), 0
        self.announced = len(frames) if announced is None else announced

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_COUNT: self.announced, cv2.CAP_PROP_FPS: 12.5}.get(prop, 0)

    def read(self):
        index, self.index = self.index, self.index + 1
        if index >= len(self.frames) or index in self.failing:
            return False, None
        return True, self.frames[index]


def test_undecodable_frames_are_counted_and_replaced(tmp_path):
    video_demo = load_video_demo()
    frames = moving_scene_frames(10)
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return [(f[..., 2] > 100).astype(np.uint8) for f in batch]

    out = str(tmp_path / 'out.avi')
    progress = []
    stats = video_demo.process_video(FlakyCapture(frames, failing=[0, 4, 5]), predict, out, batch_size=3,
                                     progress=lambda done, total: progress.append((done, total)))
    assert (stats.frames, stats.failed, stats.decoded) == (10, 3, 7)
    assert (stats.width, stats.height, stats.fps) == (WIDTH, HEIGHT, 12.5)
    assert sum(calls) == 7 and max(calls) <= 3
    assert progress[-1] == (10, 10)
    assert '3 frame(s) could not be decoded' in stats.summary()
    written, fps = read_video(out)
    assert len(written) == 10 and fps == pytest.approx(12.5)
    # frame 0 failed before any output: black; frames 4 and 5 repeat frame 3's overlay
    assert written[0].max() < 30
    assert np.abs(written[4].astype(int) - written[3]).mean() < 3
    assert np.abs(written[3].astype(int) - written[6]).mean() > 3


def test_a_file_shorter_than_announced_is_not_counted_as_failures(tmp_path, capsys):
    video_demo = load_video_demo()
    stats = video_demo.process_video(FlakyCapture(moving_scene_frames(6), failing=[], announced=9),
                                     lambda batch: [np.zeros(f.shape[:2], np.uint8) for f in batch],
                                     str(tmp_path / 'out.mp4'), batch_size=4)
    assert (stats.frames, stats.failed) == (6, 0)
    assert 'announced 9 frames but ends after 6' in capsys.readouterr().err


def test_unwritable_suffix_and_missing_video_are_refused(tmp_path):
    video_demo = load_video_demo()
    with pytest.raises(ValueError, match=r'\.mp4, \.avi, \.webm'):
        video_demo.open_writer(str(tmp_path / 'x.mkv'), 10, WIDTH, HEIGHT)
    with pytest.raises(ValueError, match='video not found'):
        video_demo.open_capture(str(tmp_path / 'missing.mp4'))


def test_the_output_suffix_picks_the_format(tmp_path):
    video_demo = load_video_demo()
    # the codec FFmpeg reads back (FMP4: MPEG-4 part 2); .webm: VP8, what browsers play
    codecs = {'.mp4': 'FMP4', '.avi': 'MJPG', '.webm': 'VP80'}
    for suffix, codec in codecs.items():
        out = str(tmp_path / f'out{suffix}')
        video_demo.process_video(FlakyCapture(moving_scene_frames(5), failing=[]),
                                 lambda batch: [np.zeros(f.shape[:2], np.uint8) for f in batch], out)
        capture = cv2.VideoCapture(out)
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, 'little').decode()
        capture.release()
        written, fps = read_video(out)
        assert fourcc == codec and len(written) == 5 and fps == pytest.approx(12.5), suffix
