"""A local web page to try a focus_mm model: drop images or a video, see and download the results.

    python demo/web_demo.py                        # the checkpoint tools/run_demo.sh wrote
    python demo/web_demo.py CONFIG CHECKPOINT [--onnx model.onnx] [--port 7860] [--host 127.0.0.1]

Then open http://127.0.0.1:7860. The page shows, per image, the overlay, the binary mask and the
probability map side by side with the model's latency, and links to download the PNGs (the files
``tools/infer.py`` writes); its video tab runs demo/video_demo.py on an uploaded video with progress and
plays the overlay and mask videos in the page (WebM, VP8: the format browsers play that the OpenCV wheel
writes).

It listens on 127.0.0.1 only, unless ``--host`` says otherwise (``--host 0.0.0.0`` shows the model to your
network: there is no authentication). Uploads are limited (``--max-upload-mb``, ``--max-side``,
``--max-video-mb``); a file over a limit, not an image, or corrupt gets an error on the page, and the
server goes on serving. Python's standard library serves it (``http.server``): no web framework to install.
"""
import argparse
import json
import os
import os.path as osp
import re
import shutil
import sys
import tempfile
import threading
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlparse

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
PAGE = osp.join(HERE, 'web_demo.html')
#: Mini-benchmark test images offered as examples: (task, index).
EXAMPLES = (('sod', 0), ('sod', 3), ('cod', 1), ('sd', 2), ('dbd', 0), ('fd', 4))
#: Finished video jobs kept (with their files) before the oldest is deleted.
KEPT_VIDEO_JOBS = 4


class VideoJob:
    """One uploaded video being segmented in a thread of its own."""

    def __init__(self, folder: str, name: str):
        self.id = uuid.uuid4().hex
        self.folder = folder
        self.name = name
        self.state = 'running'
        self.done = 0
        self.total: Optional[int] = None
        self.error = ''
        self.summary = ''
        self.failed = 0
        self.fps = 0.0

    def status(self) -> dict:
        return dict(id=self.id, state=self.state, done=self.done, total=self.total, error=self.error,
                    summary=self.summary, failed=self.failed, fps=self.fps)


class DemoServer(ThreadingHTTPServer):
    """The HTTP server with the model, the limits and the video jobs."""
    daemon_threads = True

    def __init__(self, address, model, limits, setup_message: str = ''):
        super().__init__(address, DemoHandler)
        self.model = model
        self.limits = limits
        self.setup_message = setup_message
        self.workspace = tempfile.mkdtemp(prefix='focus_web_demo_')
        self.jobs = {}
        self.jobs_lock = threading.Lock()

    def server_close(self):
        super().server_close()
        shutil.rmtree(self.workspace, ignore_errors=True)

    def add_job(self, job: VideoJob) -> None:
        with self.jobs_lock:
            self.jobs[job.id] = job
            finished = [j for j in self.jobs.values() if j.state != 'running']
            for old in finished[:max(0, len(finished) - KEPT_VIDEO_JOBS)]:
                del self.jobs[old.id]
                shutil.rmtree(old.folder, ignore_errors=True)


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    protocol_version = 'HTTP/1.1'

    # ------------------------------------------------------------------ replies
    def log_message(self, format, *args):  # noqa: A002  (the signature of the base class)
        if os.environ.get('FOCUS_WEB_DEMO_LOG'):
            super().log_message(format, *args)

    def reply(self, status: int, body: bytes, content_type: str, headers: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def reply_json(self, data: dict, status: int = HTTPStatus.OK) -> None:
        self.reply(status, json.dumps(data).encode(), 'application/json')

    def reply_error(self, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        self.reply_json(dict(error=message), status)

    def read_body(self, limit: int) -> Optional[bytes]:
        """The request body, or None after replying with an error (no length, or over ``limit``)."""
        length = self.headers.get('Content-Length')
        if length is None or not length.isdigit():
            self.reply_error('send the file as the request body with a Content-Length',
                             HTTPStatus.LENGTH_REQUIRED)
            return None
        if int(length) > limit:
            self.close_connection = True  # the body is not read: this connection cannot carry another
            self.reply_error(f'{int(length) / 2**20:.1f} MB is over the limit of {limit / 2**20:g} MB',
                             HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return None
        return self.rfile.read(int(length))

    # ------------------------------------------------------------------ routes
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urlparse(self.path)
        path = url.path
        if path in ('/', '/index.html'):
            return self.page()
        if path == '/api/info':
            return self.info()
        match = re.fullmatch(r'/examples/(sod|cod|sd|dbd|fd)-(\d+)\.png', path)
        if match and (match.group(1), int(match.group(2))) in EXAMPLES:
            from web_inference import example_image
            return self.reply(HTTPStatus.OK, example_image(match.group(1), int(match.group(2))), 'image/png')
        match = re.fullmatch(r'/api/video/([0-9a-f]{32})(?:/(overlay|mask)\.webm)?', path)
        if match:
            return self.video_status(match.group(1), match.group(2))
        self.reply_error(f'no page {path}', HTTPStatus.NOT_FOUND)

    def do_POST(self):
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == '/api/segment':
            return self.segment(query)
        if url.path == '/api/video':
            return self.start_video(query)
        self.reply_error(f'no endpoint {url.path}', HTTPStatus.NOT_FOUND)

    def page(self):
        if self.server.model is None:
            from html import escape
            body = ('<!doctype html><html><head><meta charset="utf-8">'
                    '<title>FOCUS demo: no checkpoint</title></head>'
                    '<body style="font-family:sans-serif;max-width:48em;margin:3em auto">'
                    '<h1>FOCUS demo</h1><p id="setup-message">' + escape(self.server.setup_message) +
                    '</p><p>Then reload this page (restart the demo after training).</p></body></html>')
            return self.reply(HTTPStatus.OK, body.encode(), 'text/html; charset=utf-8')
        with open(PAGE, 'rb') as f:
            self.reply(HTTPStatus.OK, f.read(), 'text/html; charset=utf-8')

    def info(self):
        model, limits = self.server.model, self.server.limits
        if model is None:
            return self.reply_json(dict(ready=False, message=self.server.setup_message))
        self.reply_json(
            dict(ready=True, config=osp.basename(model.config), checkpoint=osp.basename(model.checkpoint),
                 tasks=list(model.tasks), own_task=model.own_task, backends=list(model.backends),
                 limits=dict(max_upload_bytes=limits.max_upload_bytes, max_side=limits.max_side,
                             max_video_bytes=limits.max_video_bytes, text=limits.describe()),
                 examples=[f'{task}-{index}.png' for task, index in EXAMPLES]))

    def segment(self, query: dict):
        import base64

        from web_inference import ImageRejected, decode_upload
        model = self.server.model
        if model is None:
            return self.reply_error(self.server.setup_message, HTTPStatus.SERVICE_UNAVAILABLE)
        content = self.read_body(self.server.limits.max_upload_bytes)
        if content is None:
            return
        name = osp.basename(query.get('name', 'upload'))[:200] or 'upload'
        try:
            task = model.check_choice(query.get('task') or None, query.get('backend', 'pytorch'))
            image = decode_upload(content, self.server.limits, name)
            result = model.segment(image, task, query.get('backend', 'pytorch'))
        except ImageRejected as err:
            return self.reply_error(str(err), err.status)
        except Exception as err:  # the model failed on this image: say so, keep serving
            return self.reply_error(f'{name}: the model failed: {type(err).__name__}: {err}',
                                    HTTPStatus.INTERNAL_SERVER_ERROR)
        self.reply_json(
            dict(name=name, width=image.shape[1], height=image.shape[0], latency_ms=1000 * result['seconds'],
                 foreground=result['foreground'], task=task,
                 **{k: base64.b64encode(result[k]).decode() for k in ('overlay', 'mask', 'prob')}))

    def start_video(self, query: dict):
        from web_inference import ImageRejected
        model = self.server.model
        if model is None:
            return self.reply_error(self.server.setup_message, HTTPStatus.SERVICE_UNAVAILABLE)
        try:
            task = model.check_choice(query.get('task') or None, query.get('backend', 'pytorch'))
        except ImageRejected as err:
            return self.reply_error(str(err), err.status)
        content = self.read_body(self.server.limits.max_video_bytes)
        if content is None:
            return
        name = osp.basename(query.get('name', 'video'))[:200] or 'video'
        folder = tempfile.mkdtemp(dir=self.server.workspace)
        source = osp.join(folder, 'input' + osp.splitext(name)[1].lower())
        with open(source, 'wb') as f:
            f.write(content)
        job = VideoJob(folder, name)
        self.server.add_job(job)
        threading.Thread(target=run_video_job, args=(self.server, job, source, task,
                                                     query.get('backend', 'pytorch')), daemon=True).start()
        self.reply_json(job.status(), HTTPStatus.ACCEPTED)

    def video_status(self, job_id: str, kind: Optional[str]):
        with self.server.jobs_lock:
            job = self.server.jobs.get(job_id)
        if job is None:
            return self.reply_error('no such video job (the server keeps the last few)', HTTPStatus.NOT_FOUND)
        if kind is None:
            return self.reply_json(job.status())
        path = osp.join(job.folder, f'{kind}.webm')
        if job.state != 'done' or not osp.isfile(path):
            return self.reply_error('the video is not ready', HTTPStatus.NOT_FOUND)
        with open(path, 'rb') as f:
            data = f.read()
        stem = osp.splitext(job.name)[0]
        headers = {'Accept-Ranges': 'bytes', 'Content-Disposition': f'inline; filename="{stem}_{kind}.webm"'}
        # The page's <video> asks for byte ranges (to seek, and to read the WebM index at the end).
        span = byte_range(self.headers.get('Range'), len(data))
        if span is None:
            return self.reply(HTTPStatus.OK, data, 'video/webm', headers)
        if span == ():
            return self.reply(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b'', 'video/webm',
                              {'Content-Range': f'bytes */{len(data)}'})
        start, end = span
        headers['Content-Range'] = f'bytes {start}-{end}/{len(data)}'
        self.reply(HTTPStatus.PARTIAL_CONTENT, data[start:end + 1], 'video/webm', headers)


def byte_range(header: Optional[str], size: int):
    """Read a ``Range: bytes=...`` header of one range (the form browsers send for media).

    Args:
        header (str, optional): The request's ``Range`` header.
        size (int): The file's size in bytes.

    Returns:
        tuple | None: ``(first, last)`` byte, both included; None to send the whole file (no header, or
        one this server does not serve, such as several ranges); ``()`` when the range lies past the end.
    """
    match = re.fullmatch(r'\s*bytes=(\d*)-(\d*)\s*', header or '')
    if not match or match.groups() == ('', ''):
        return None
    first, last = match.groups()
    if first == '':  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(size - 1, int(last)) if last else size - 1
    return (start, end) if start <= end and start < size else ()


def run_video_job(server: DemoServer, job: VideoJob, source: str, task: Optional[str], backend: str) -> None:
    """Segment an uploaded video with demo/video_demo.py's loop; the job records progress and the end."""
    import cv2

    from video_demo import open_capture, process_video
    try:
        capture = open_capture(source)
        try:
            width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
            if max(width, height) > server.limits.max_side:
                raise ValueError(f'{job.name}: {width}x{height} px is over the limit of '
                                 f'{server.limits.max_side} px on the longer side')

            def progress(done, total):
                job.done, job.total = done, total

            stats = process_video(capture, lambda frames: server.model.masks(frames, task, backend),
                                  osp.join(job.folder, 'overlay.webm'), osp.join(job.folder, 'mask.webm'),
                                  progress=progress)
        finally:
            capture.release()
        job.summary, job.failed = stats.summary(), stats.failed
        job.fps = stats.decoded / stats.seconds if stats.seconds > 0 else 0.0
        job.state = 'done'
    except Exception as err:  # an unreadable video: the job says why; the server goes on
        job.error = f'{job.name}: {err}'
        job.state = 'failed'
    finally:
        try:
            os.remove(source)
        except OSError:
            pass


def parse_args():
    parser = argparse.ArgumentParser(description='Local web demo of a focus_mm model')
    parser.add_argument('config', nargs='?', help='model config (default: the run_demo.sh checkpoint\'s)')
    parser.add_argument('checkpoint', nargs='?', help='model checkpoint (.pth)')
    parser.add_argument('--onnx', help='an ONNX export of the same model: offers the onnxruntime backend')
    parser.add_argument('--device', default='cpu', help="device of the PyTorch backend: 'cpu' or 'cuda[:N]'")
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default 127.0.0.1: this machine only)')
    parser.add_argument('--port', type=int, default=7860, help='port (0: any free port, printed)')
    parser.add_argument('--max-upload-mb', type=float, default=10, help='largest image file (default 10)')
    parser.add_argument('--max-side', type=int, default=4096,
                        help='largest image or video side in pixels (default 4096)')
    parser.add_argument('--max-video-mb', type=float, default=200, help='largest video file (default 200)')
    parser.add_argument('--demo-root', default=REPO,
                        help='the folder tools/run_demo.sh ran in, whose work_dirs/ hold the default '
                        'checkpoint (default: this repository)')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s own choice)')
    return parser.parse_args()


def main():
    args = parse_args()
    from web_inference import DemoModel, Limits, find_demo_checkpoint, missing_checkpoint_message

    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    limits = Limits(max_upload_bytes=int(args.max_upload_mb * 2**20), max_side=args.max_side,
                    max_video_bytes=int(args.max_video_mb * 2**20))
    if (args.config is None) != (args.checkpoint is None):
        raise SystemExit('give both CONFIG and CHECKPOINT, or neither (the run_demo.sh checkpoint)')
    found = (args.config, args.checkpoint) if args.config else find_demo_checkpoint(args.demo_root)
    model, message = None, ''
    if found is None:
        message = missing_checkpoint_message()
        print(f'[web_demo] {message}', file=sys.stderr)
    else:
        try:
            model = DemoModel(*found, onnx=args.onnx, device=args.device)
        except FileNotFoundError as err:
            raise SystemExit(f'[web_demo] {err}')
        # Build (and check) the default inferencer now: a bad checkpoint fails here, not on the first upload.
        try:
            model.inferencer(model.tasks[0] if model.tasks else None, 'pytorch')
        except ValueError as err:
            raise SystemExit(f'[web_demo] {err}')
    server = DemoServer((args.host, args.port), model, limits, message)
    host, port = server.server_address[:2]
    what = f'{osp.basename(found[1])} ({osp.basename(found[0])})' if found else 'no model: setup page'
    print(f'[web_demo] serving {what} on http://{host}:{port} ({limits.describe()}); Ctrl+C stops it',
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == '__main__':
    main()
