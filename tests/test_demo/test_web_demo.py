"""demo/web_demo.py in a real browser: headless Chromium (Debian's package) driven by Selenium.

The server runs a tiny test model (single-task, or universal with its ONNX export) on a free loopback
port. Without Chromium, chromedriver or Selenium the browser tests are skipped with the reason, unless
FOCUS_REQUIRE_BROWSER=1 (CI), where they fail; ``bash tools/setup_browser.sh`` installs all three.
FOCUS_UPDATE_SCREENSHOT=1 makes the screenshot test serve the checkpoint ``tools/run_demo.sh`` trained and
write docs/_static/web_demo.png.
"""
import http.client
import importlib.util
import json
import os
import os.path as osp
import queue
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest
from PIL import Image

from _demo_models import REPO, UNIVERSAL_TASKS, scene

SCREENSHOT = osp.join(REPO, 'docs', '_static', 'web_demo.png')
SERVER_START_S = 180
RESULT_WAIT_S = 120
PLAYER_WAIT_S = 30

pytestmark = pytest.mark.timeout(600)


def browser_parts():
    """``(chromium, chromedriver)`` paths, or a reason why the browser tests cannot run."""
    chromium = (os.environ.get('FOCUS_CHROMIUM') or shutil.which('chromium')
                or shutil.which('chromium-browser'))
    driver = os.environ.get('FOCUS_CHROMEDRIVER') or shutil.which('chromedriver')
    missing = [name for name, path in (('chromium', chromium), ('chromedriver', driver)) if not path]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append('selenium (the `browser` extra)')
    if missing:
        return None, f'no {", ".join(missing)}: run `bash tools/setup_browser.sh`'
    return (chromium, driver), ''


def start_server(*args, timeout: float = SERVER_START_S):
    """Start demo/web_demo.py on a free loopback port; returns ``(process, base_url, log_lines)``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get('PYTHONPATH')])))
    proc = subprocess.Popen([sys.executable, osp.join(REPO, 'demo', 'web_demo.py'), *map(str, args),
                             '--port', '0', '--threads', '1'], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines, ready = [], queue.Queue()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if line.startswith('[web_demo] serving'):
                ready.put(line)
        ready.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        line = ready.get(timeout=timeout)
    except queue.Empty:
        line = None
    if not line:
        proc.kill()
        raise AssertionError('the web demo did not start:\n' + ''.join(lines[-40:]))
    url = line.split(' on ', 1)[1].split()[0]
    assert url.startswith('http://127.0.0.1:'), line  # loopback by default
    return proc, url, lines


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """Small non-square scenes (distinct sizes), a corrupt file and a truncated JPEG."""
    folder = tmp_path_factory.mktemp('upload')
    paths = {}
    for i, (h, w) in enumerate([(120, 170), (96, 150), (130, 100), (110, 140), (90, 160)]):
        paths[f'scene{i}'] = str(folder / f'scene{i}.png')
        assert cv2.imwrite(paths[f'scene{i}'], scene(h, w, seed=i))
    paths['corrupt'] = str(folder / 'corrupt.png')
    (folder / 'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n this is not an image')
    Image.fromarray(scene(200, 240, seed=9)).save(folder / 'cut.jpg', quality=90)
    data = (folder / 'cut.jpg').read_bytes()
    (folder / 'cut.jpg').write_bytes(data[:len(data) // 2])
    paths['truncated'] = str(folder / 'cut.jpg')
    return paths


@pytest.fixture(scope='module')
def infer_tool_masks(tiny_model, images, tmp_path_factory):
    """tools/infer.py's masks of the scenes: what the page's downloads are compared with."""
    config, checkpoint = tiny_model
    folder = tmp_path_factory.mktemp('scenes')
    for name, path in images.items():
        if name.startswith('scene'):
            shutil.copy(path, folder)
    out = tmp_path_factory.mktemp('infer_out')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'infer.py'), str(folder), config,
                           checkpoint, '--out-dir', str(out), '--batch-size', '1'], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    masks = {}
    for name in os.listdir(folder):
        stem = osp.splitext(name)[0]
        masks[stem] = cv2.imread(str(out / f'{stem}_mask.png'), cv2.IMREAD_UNCHANGED)
        assert 0.02 < (masks[stem] > 0).mean() < 0.98, stem  # the comparison means something
    return masks


@pytest.fixture(scope='module')
def server(tiny_model):
    proc, url, lines = start_server(*tiny_model)
    yield url
    stop_server(proc)


def make_driver(download_dir: str, width: int = 1280, height: int = 900):
    parts, reason = browser_parts()
    if parts is None:
        if os.environ.get('FOCUS_REQUIRE_BROWSER') == '1':
            pytest.fail(f'FOCUS_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}')
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = parts
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--disable-extensions', '--no-first-run', f'--window-size={width},{height}',
                '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'):  # loopback only
        options.add_argument(arg)
    options.add_experimental_option('prefs', {'download.default_directory': download_dir,
                                              'download.prompt_for_download': False})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd('Browser.setDownloadBehavior', {'behavior': 'allow', 'downloadPath': download_dir})
    return driver


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    downloads = str(tmp_path_factory.mktemp('downloads'))
    driver = make_driver(downloads)
    driver.download_dir = downloads
    yield driver
    driver.quit()


def open_page(driver, url):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script('return document.getElementById("backend").options.length') > 0)


def wait_results(driver, count: int, timeout: float = RESULT_WAIT_S):
    """The result cards once ``count`` of them have finished (done or error)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def finished(d):
        cards = d.find_elements(By.CSS_SELECTOR, '#results .result')
        done = [c for c in cards if c.get_attribute('data-state') in ('done', 'error')]
        return done if len(done) >= count else False

    return WebDriverWait(driver, timeout).until(finished)


def upload(driver, paths):
    from selenium.webdriver.common.by import By

    driver.execute_script('document.getElementById("results").textContent = ""')
    field = driver.find_element(By.ID, 'image-input')
    field.clear()
    field.send_keys('\n'.join(paths))
    driver.find_element(By.ID, 'run').click()


def download_mask(driver, card, stem: str) -> np.ndarray:
    from selenium.webdriver.common.by import By

    target = osp.join(driver.download_dir, f'{stem}_mask.png')
    if osp.exists(target):
        os.remove(target)
    card.find_element(By.CSS_SELECTOR, 'a.download-mask').click()
    deadline = time.time() + 30
    while time.time() < deadline:
        if osp.exists(target) and not osp.exists(target + '.crdownload'):
            mask = cv2.imread(target, cv2.IMREAD_UNCHANGED)
            if mask is not None:
                return mask
        time.sleep(0.1)
    raise AssertionError(f'{target} was not downloaded: {os.listdir(driver.download_dir)}')


def assert_same_mask(got: np.ndarray, want: np.ndarray, name: str) -> None:
    assert got.shape == want.shape, name
    assert set(np.unique(got)) <= {0, 255}, name
    assert np.mean(got == want) >= 0.999, (name, np.mean(got == want))


def card_of(cards, name):
    return next(c for c in cards if c.get_attribute('data-name') == name)


@pytest.mark.browser
def test_upload_run_and_download_the_infer_tool_mask(server, browser, images, infer_tool_masks):
    from selenium.webdriver.common.by import By

    open_page(browser, server)
    assert 'SOD' in browser.find_element(By.ID, 'task').text  # the single-task model's own task
    assert '10 MB' in browser.find_element(By.ID, 'limits').text  # the limits are stated
    upload(browser, [images['scene0']])
    card = wait_results(browser, 1)[0]
    assert card.get_attribute('data-state') == 'done', card.text
    assert 'ms in the model' in card.text and '170x120' in card.text
    for kind in ('overlay', 'mask', 'prob'):  # the three pictures are shown at the image's size
        size = browser.execute_script('const i = arguments[0]; return [i.naturalWidth, i.naturalHeight]',
                                      card.find_element(By.CSS_SELECTOR, f'img.out-{kind}'))
        assert size == [170, 120], kind
    assert_same_mask(download_mask(browser, card, 'scene0'), infer_tool_masks['scene0'], 'scene0')


@pytest.mark.browser
def test_corrupt_uploads_show_an_error_and_the_next_upload_works(server, browser, images, infer_tool_masks):
    from selenium.webdriver.common.by import By

    open_page(browser, server)
    upload(browser, [images['corrupt'], images['truncated']])
    cards = wait_results(browser, 2)
    for name, words in (('corrupt.png', 'not an image'), ('cut.jpg', 'truncated')):
        card = card_of(cards, name)
        assert card.get_attribute('data-state') == 'error'
        error = card.find_element(By.CSS_SELECTOR, '.error').text
        assert name in error and words in error, error
    upload(browser, [images['scene1']])
    card = wait_results(browser, 1)[0]
    assert card.get_attribute('data-state') == 'done', card.text
    assert_same_mask(download_mask(browser, card, 'scene1'), infer_tool_masks['scene1'], 'scene1')


@pytest.mark.browser
def test_four_uploads_at_once_all_finish_correctly(server, browser, images, infer_tool_masks):
    open_page(browser, server)
    names = ['scene1', 'scene2', 'scene3', 'scene4']
    upload(browser, [images[n] for n in names])
    cards = wait_results(browser, 4)
    assert browser.execute_script('return document.body.dataset.maxPending') == '4'  # all in flight at once
    for name in names:
        card = card_of(cards, f'{name}.png')
        assert card.get_attribute('data-state') == 'done', card.text
        assert_same_mask(download_mask(browser, card, name), infer_tool_masks[name], name)


@pytest.fixture(scope='module')
def universal_server(tiny_universal_model):
    """The web demo of the tiny universal model, with its ONNX export as the onnxruntime backend."""
    config, checkpoint, onnx = tiny_universal_model
    proc, url, lines = start_server(config, checkpoint, '--onnx', onnx)
    yield url
    stop_server(proc)


@pytest.mark.browser
def test_the_task_menu_of_a_universal_model_and_the_onnxruntime_backend(universal_server,
                                                                          tiny_universal_model, browser,
                                                                          images):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from focus_mm.apis import FocusInferencer

    config, checkpoint, _ = tiny_universal_model
    open_page(browser, universal_server)
    tasks, backends = (Select(browser.find_element(By.ID, name)) for name in ('task', 'backend'))
    assert [o.get_attribute('value') for o in tasks.options] == list(UNIVERSAL_TASKS)
    assert [o.get_attribute('value') for o in backends.options] == ['pytorch', 'onnxruntime']
    got = {}
    runs = [(task, 'pytorch') for task in UNIVERSAL_TASKS] + [(UNIVERSAL_TASKS[1], 'onnxruntime')]
    for task, backend in runs:
        tasks.select_by_value(task)
        backends.select_by_value(backend)
        upload(browser, [images['scene0']])
        card = wait_results(browser, 1)[0]
        assert card.get_attribute('data-state') == 'done', card.text
        assert f'task {task.upper()}' in card.text, card.text
        got[task, backend] = download_mask(browser, card, 'scene0')
    image = cv2.imread(images['scene0'])
    for task in UNIVERSAL_TASKS:
        want = FocusInferencer(config, checkpoint, task=task)(image)[0].mask * np.uint8(255)
        assert 0.02 < (want > 0).mean() < 0.98, task  # the comparison means something
        for backend in ('pytorch', 'onnxruntime'):
            if (task, backend) in got:
                assert_same_mask(got[task, backend], want, f'{task} ({backend})')
    first, second = UNIVERSAL_TASKS
    assert np.mean(got[first, 'pytorch'] != got[second, 'pytorch']) > 0.05  # the task menu is used


@pytest.mark.browser
def test_video_tab_runs_the_video_demo_and_plays_the_result(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 8, (120, 88))
    for i in range(12):
        writer.write(scene(88, 120, seed=i))
    writer.release()
    open_page(browser, server)
    browser.find_element(By.ID, 'tab-video').click()
    browser.find_element(By.ID, 'video-input').send_keys(video)
    browser.find_element(By.ID, 'run-video').click()
    WebDriverWait(browser, RESULT_WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, 'a.video-mask') or
        'error' in d.find_element(By.ID, 'video-status').get_attribute('class'))
    status = browser.find_element(By.ID, 'video-status').text
    assert '12 frames of 120x88 at 8 fps' in status and 'frames per second' in status, status
    assert browser.execute_script('return document.getElementById("video-progress").value') == 12
    # Both results play in the page: Chromium decodes them (a frame is ready), at the input's size and
    # length (12 frames at 8 fps), and playing advances the time.
    for kind in ('overlay', 'mask'):
        player = browser.find_element(By.ID, f'player-{kind}')
        WebDriverWait(browser, PLAYER_WAIT_S).until(
            lambda d: d.execute_script('const v = arguments[0]; return v.error ? "error " + v.error.code + '
                                       '" " + v.error.message : v.readyState >= 2', player),
            f'the {kind} video did not load')
        state = browser.execute_script(
            'const v = arguments[0]; return [v.error && v.error.message, v.videoWidth, v.videoHeight, '
            'v.duration]', player)
        assert state[:3] == [None, 120, 88], (kind, state)
        assert state[3] == pytest.approx(1.5, abs=0.2), (kind, state)
        played = browser.execute_async_script(
            'const [v, done] = arguments; v.play().then(() => done("playing"), (e) => done(String(e)))',
            player)
        assert played == 'playing', (kind, played)
        WebDriverWait(browser, PLAYER_WAIT_S).until(
            lambda d: d.execute_script('return arguments[0].currentTime', player) > 0,
            f'the {kind} video does not play')
    assert browser.find_element(By.CSS_SELECTOR, 'a.video-overlay').get_attribute('download') == \
        'clip_overlay.webm'
    href = browser.find_element(By.CSS_SELECTOR, 'a.video-overlay').get_attribute('href')
    path = str(tmp_path / 'overlay.webm')
    with urllib.request.urlopen(href, timeout=30) as response, open(path, 'wb') as f:
        assert response.headers['Content-Type'] == 'video/webm'
        f.write(response.read())
    capture = cv2.VideoCapture(path)
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 12 and capture.get(cv2.CAP_PROP_FPS) == pytest.approx(8)
    # a byte range, as a <video> asks for it to seek
    request = urllib.request.Request(href, headers={'Range': 'bytes=10-19'})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 206 and response.read() == open(path, 'rb').read()[10:20]
        assert response.headers['Content-Range'] == f'bytes 10-19/{osp.getsize(path)}'


def test_byte_ranges_of_the_video_replies():
    spec = importlib.util.spec_from_file_location('web_demo', osp.join(REPO, 'demo', 'web_demo.py'))
    web_demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(web_demo)
    byte_range = web_demo.byte_range
    assert byte_range(None, 100) is None
    assert byte_range('bytes=0-', 100) == (0, 99)
    assert byte_range('bytes=10-19', 100) == (10, 19)
    assert byte_range('bytes=90-200', 100) == (90, 99)  # clipped to the file
    assert byte_range('bytes=-30', 100) == (70, 99)  # the last 30 bytes
    assert byte_range('bytes=100-', 100) == ()  # past the end: 416
    assert byte_range('bytes=0-1,5-6', 100) is None  # several ranges: the whole file


def test_upload_limits_and_bad_requests_keep_the_server_serving(server, images):
    host, port = server.split('//')[1].split(':')
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest('POST', '/api/segment?name=huge.png')
    conn.putheader('Content-Length', str(11 * 2**20))  # over the 10 MB limit: refused before reading it
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and 'over the limit' in json.loads(response.read())['error']
    conn.close()
    request = urllib.request.Request(server + '/api/segment?name=x.png&backend=tensorrt', data=b'x',
                                     method='POST')
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 400 and 'not served' in json.loads(err.value.read())['error']
    with open(images['scene0'], 'rb') as f:
        request = urllib.request.Request(server + '/api/segment?name=scene0.png', data=f.read(),
                                         method='POST')
    with urllib.request.urlopen(request, timeout=60) as response:
        assert json.loads(response.read())['width'] == 170


def test_without_a_checkpoint_the_page_names_the_command(tmp_path):
    proc, url, _ = start_server('--demo-root', tmp_path)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            page = response.read().decode()
        assert 'bash tools/run_demo.sh' in page and 'work_dirs/demo_sod' in page
        with urllib.request.urlopen(url + '/api/info', timeout=30) as response:
            assert json.loads(response.read())['ready'] is False
    finally:
        stop_server(proc)


@pytest.mark.browser
def test_screenshot_of_the_page(tiny_model, tmp_path):
    """The docs' screenshot: with FOCUS_UPDATE_SCREENSHOT=1 of the trained demo checkpoint, written to
    docs/_static/web_demo.png; otherwise of the tiny model, into a temporary folder."""
    update = os.environ.get('FOCUS_UPDATE_SCREENSHOT') == '1'
    driver = make_driver(str(tmp_path), width=1200, height=820)  # skips (or fails in CI) without a browser
    from selenium.webdriver.common.by import By
    try:
        proc, url, lines = start_server() if update else start_server(*tiny_model)
    except BaseException:
        driver.quit()
        raise
    try:
        assert 'no model' not in ''.join(lines), \
            'FOCUS_UPDATE_SCREENSHOT=1 needs the checkpoint of `bash tools/run_demo.sh` first'
        open_page(driver, url)
        driver.find_element(By.CSS_SELECTOR, 'img.example[alt="sod-0.png"]').click()
        card = wait_results(driver, 1)[0]
        assert card.get_attribute('data-state') == 'done', card.text
        driver.execute_script('window.scrollTo(0, 0)')
        path = SCREENSHOT if update else str(tmp_path / 'web_demo.png')
        assert driver.save_screenshot(path)
    finally:
        driver.quit()
        stop_server(proc)
    shot = cv2.imread(path)
    assert shot.shape[1] == 1200 and shot.shape[0] > 600
    assert shot.std() > 10  # not a blank page
