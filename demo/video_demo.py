"""Segment every frame of a video (or a camera) and write the video with the mask overlaid.

    python demo/video_demo.py VIDEO CONFIG CHECKPOINT --out overlay.mp4 [--mask-out mask.mp4]
    python demo/video_demo.py 0 CONFIG CHECKPOINT --out camera.mp4 --max-frames 300   # camera 0
    python demo/video_demo.py VIDEO UNIVERSAL_CONFIG CHECKPOINT --task cod --out cod.mp4
    python demo/video_demo.py VIDEO CONFIG model.onnx --backend onnxruntime --out overlay.mp4
    python demo/video_demo.py VIDEO CONFIG CHECKPOINT --out overlay.webm   # plays in a web browser

The output has the input's frame size and frame rate (a camera that reports no rate is written at 30).
The output's suffix picks the format, each written by the OpenCV wheel alone: ``.mp4`` (MPEG-4 part 2,
``mp4v``: fast, for video players), ``.avi`` (Motion JPEG) or ``.webm`` (VP8: what web browsers play,
slower to encode). A frame that fails to decode is counted and reported, and the previous output frame is
written in its place, so that the output keeps the input's length; the exit code is then 1 (a file that
ends before the frame count its container announces is reported too). At the end
the frames per second are printed: end to end (decoding, model, drawing, encoding) and the model's alone.
"""
import argparse
import os.path as osp
import sys
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

import cv2
import numpy as np

#: the codec written for each container suffix (all ship with the opencv-python wheels' FFmpeg). Browsers
#: play none of the first two; VP8 in WebM they all do (the web demo's video tab writes it).
FOURCC = {'.mp4': 'mp4v', '.avi': 'MJPG', '.webm': 'VP80'}
#: frame rate written when the source reports none (cameras often do).
DEFAULT_FPS = 30.0
#: a file whose frames fail this many times in a row has ended (or is broken beyond the frame count).
MAX_CONSECUTIVE_FAILURES = 50


@dataclass
class VideoStats:
    """What :func:`process_video` did.

    Attributes:
        frames (int): Frames written to the output (decoded frames plus stand-ins for failed ones).
        failed (int): Frames that failed to decode (each replaced by the previous output frame).
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.
        fps (float): Frame rate of the output (the input's).
        seconds (float): Wall time of the whole run.
        model_seconds (float): Time spent in the model.
    """
    frames: int = 0
    failed: int = 0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    seconds: float = 0.0
    model_seconds: float = 0.0

    @property
    def decoded(self) -> int:
        return self.frames - self.failed

    def summary(self) -> str:
        end_to_end = self.decoded / self.seconds if self.seconds > 0 else 0.0
        model = self.decoded / self.model_seconds if self.model_seconds > 0 else 0.0
        text = (f'{self.frames} frames of {self.width}x{self.height} at {self.fps:g} fps in '
                f'{self.seconds:.1f} s: {end_to_end:.2f} frames per second end to end, '
                f'{model:.2f} in the model')
        if self.failed:
            text += (f'; {self.failed} frame(s) could not be decoded and were replaced by the previous '
                     'output frame')
        return text


def open_capture(source: str) -> cv2.VideoCapture:
    """Open a video file, or a camera when ``source`` is an integer (its index).

    Raises:
        ValueError: a missing file, or one OpenCV cannot open; the message names it.
    """
    if source.isdigit():
        capture = cv2.VideoCapture(int(source))
        what = f'camera {source}'
    else:
        if not osp.isfile(source):
            raise ValueError(f'video not found: {source}')
        capture = cv2.VideoCapture(source)
        what = source
    if not capture.isOpened():
        raise ValueError(f'cannot open {what}: OpenCV has no decoder for it (re-encode it, e.g. to H.264 '
                         'MP4) or the camera is in use / missing')
    return capture


def open_writer(path: str, fps: float, width: int, height: int) -> cv2.VideoWriter:
    """A writer for ``path`` (``.mp4``, ``.avi`` or ``.webm``) at the given rate and size.

    Raises:
        ValueError: another suffix, or a file that cannot be created; the message names it.
    """
    suffix = osp.splitext(path)[1].lower()
    if suffix not in FOURCC:
        raise ValueError(f'{path}: write {", ".join(FOURCC)} (the containers the OpenCV wheel encodes)')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*FOURCC[suffix]), fps, (width, height))
    if not writer.isOpened():
        raise ValueError(f'cannot write {path}: check that its folder exists and is writable')
    return writer


def process_video(capture, predict: Callable[[List[np.ndarray]], List[np.ndarray]], out_path: str,
                  mask_path: Optional[str] = None, alpha: float = 0.5, batch_size: int = 4,
                  max_frames: Optional[int] = None,
                  progress: Optional[Callable[[int, Optional[int]], None]] = None) -> VideoStats:
    """Segment the frames of ``capture`` and write the overlay video (and the mask video).

    Args:
        capture: An opened ``cv2.VideoCapture`` (or an object with its ``read``/``get`` methods).
        predict: Maps a list of ``H x W x 3`` uint8 BGR frames to their ``H x W`` uint8 masks (1 = fg).
        out_path (str): The overlay video (``.mp4``, ``.avi`` or ``.webm``).
        mask_path (str, optional): The mask video (white = foreground), if wanted.
        alpha (float): Overlay opacity. Defaults to 0.5.
        batch_size (int): Frames per call of ``predict``. Defaults to 4.
        max_frames (int, optional): Stop after this many frames (for cameras). Defaults to None.
        progress: Called as ``progress(frames_done, total_or_None)`` after each batch.

    Returns:
        VideoStats: Frames written and failed, size, rate and times.

    Raises:
        ValueError: no frame could be decoded, or an output cannot be written.
    """
    from focus_mm.utils import overlay_mask

    start = time.perf_counter()
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    total = total if total > 0 else None  # cameras and some streams report none
    if max_frames is not None:
        total = max_frames if total is None else min(total, max_frames)
    fps = capture.get(cv2.CAP_PROP_FPS)
    stats = VideoStats(fps=fps if fps and fps > 0 else DEFAULT_FPS)
    writers = []
    pending: List[Optional[np.ndarray]] = []  # frames in order; None = failed to decode
    last = {}  # the previous output frames, stand-ins for a frame that failed

    def write(outputs):
        for writer, frame in zip(writers, outputs):
            writer.write(frame)
        stats.frames += 1

    def flush():
        # Failures at the tail stay pending: if no decoded frame follows, the file just ended early.
        decoded_until = max((i for i, f in enumerate(pending) if f is not None), default=-1) + 1
        batch, pending[:decoded_until] = pending[:decoded_until], []
        frames = [f for f in batch if f is not None]
        masks = []
        if frames:
            tic = time.perf_counter()
            masks = list(predict(frames))
            stats.model_seconds += time.perf_counter() - tic
        masks.reverse()
        for frame in batch:
            if frame is None:
                blank = np.zeros((stats.height, stats.width, 3), np.uint8)
                write(last.get('outputs', [blank] * len(writers)))
                continue
            mask = masks.pop()
            outputs = [overlay_mask(frame, mask, alpha)]
            if mask_path is not None:
                outputs.append(cv2.cvtColor(mask * np.uint8(255), cv2.COLOR_GRAY2BGR))
            last['outputs'] = outputs
            write(outputs)
        if progress is not None:
            progress(stats.frames, total)

    try:
        seen = consecutive = 0  # frames read or failed; failures in a row
        while total is None or seen < total:
            ok, frame = capture.read()
            if not ok:
                # Past the announced count, or a camera/stream without one: the end. Within it: a frame
                # that failed to decode (counted; a long run of failures ends the file).
                if total is None or consecutive >= MAX_CONSECUTIVE_FAILURES:
                    break
                consecutive += 1
                stats.failed += 1
                pending.append(None)  # before the first frame: a black stand-in once the size is known
            else:
                consecutive = 0
                if not writers:
                    stats.height, stats.width = frame.shape[:2]
                    writers.append(open_writer(out_path, stats.fps, stats.width, stats.height))
                    if mask_path is not None:
                        writers.append(open_writer(mask_path, stats.fps, stats.width, stats.height))
                if frame.shape[:2] != (stats.height, stats.width):  # a writer drops odd-sized frames
                    frame = cv2.resize(frame, (stats.width, stats.height), interpolation=cv2.INTER_AREA)
                pending.append(frame)
            seen += 1
            if len(pending) >= batch_size and writers:
                flush()
        if writers:
            flush()
        if pending:  # failures after the last decoded frame: the file ends before its announced count
            stats.failed -= len(pending)
            print(f'[video_demo] the video announced {total} frames but ends after {stats.frames}',
                  file=sys.stderr)
    finally:
        for writer in writers:
            writer.release()
    if not writers:
        raise ValueError('no frame of the video could be decoded: nothing written')
    stats.seconds = time.perf_counter() - start
    return stats


def parse_args():
    parser = argparse.ArgumentParser(description='Overlay a focus_mm model\'s masks on a video')
    parser.add_argument('source', help='video file, or a camera index (0, 1, ...)')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='model checkpoint (.pth), or the .onnx file with --backend '
                        'onnxruntime')
    parser.add_argument('--out', default='overlay.mp4', help='overlay video, .mp4, .avi or .webm (default: '
                        'overlay.mp4)')
    parser.add_argument('--mask-out', help='also write the mask video here (.mp4, .avi or .webm)')
    parser.add_argument('--task', help='the task of a universal checkpoint: sod, cod, sd, dbd or fd')
    parser.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda[:N]'")
    parser.add_argument('--alpha', type=float, default=0.5, help='overlay opacity')
    parser.add_argument('--batch-size', type=int, default=4, help='frames per forward pass')
    parser.add_argument('--max-frames', type=int, help='stop after this many frames (for cameras)')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s own choice)')
    return parser.parse_args()


def main():
    args = parse_args()
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise SystemExit(f'{what} not found: {path}')
    if args.batch_size < 1:
        raise SystemExit(f'--batch-size must be at least 1, got {args.batch_size}')
    import torch
    from mmengine.utils import ProgressBar

    from focus_mm.apis import FocusInferencer

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        inferencer = FocusInferencer(args.config, args.checkpoint, device=args.device,
                                     batch_size=args.batch_size, backend=args.backend, task=args.task)
    except ValueError as err:  # a universal checkpoint without a task, or with one it does not know
        raise SystemExit(f'[video_demo] {err}')
    try:
        capture = open_capture(args.source)
    except ValueError as err:
        raise SystemExit(f'[video_demo] {err}')
    bar = {}

    def progress(done, total):
        if total is None:
            print(f'\r[video_demo] {done} frames', end='', flush=True)
            return
        if 'bar' not in bar:
            bar['bar'], bar['done'] = ProgressBar(total), 0
        for _ in range(done - bar['done']):
            bar['bar'].update()
        bar['done'] = done

    try:
        stats = process_video(capture, lambda frames: [r.mask for r in inferencer(frames)], args.out,
                              args.mask_out, args.alpha, args.batch_size, args.max_frames, progress)
    except ValueError as err:
        raise SystemExit(f'[video_demo] {err}')
    finally:
        capture.release()
    print(f'\n[video_demo] {stats.summary()}')
    print(f'[video_demo] written: {args.out}' + (f', {args.mask_out}' if args.mask_out else ''))
    sys.exit(1 if stats.failed else 0)


if __name__ == '__main__':
    main()
