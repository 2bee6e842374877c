"""Check the documentation against the code: what the README and ``docs/`` name must exist and parse.

Each ``check_*`` function returns a list of problems (``file:line: what``), so that one run reports them
all. What is checked:

- commands: every ``python tools/...`` / ``python demo/...`` / ``bash tools/...`` command (in code blocks
  and inline code) parses with the tool's own argparse parser, in-process, as on a machine with a GPU
  (``torch.cuda.is_available()`` is True: commands must say ``--device cpu`` where a tool needs it), and
  runs the tool's ``check_args(parser, args)`` when it has one; its ``--cfg-options`` apply to its config
  when that is a file of the repository. A flag named beside a tool (```tools/test.py --task```) must be
  one of that tool's options.
- paths: every repository path (``configs/...``, ``tools/...``, ``focus_mm/...``, ``docs/...``, ...,
  with ``{a,b}`` and ``*`` expanded), every config file name (``..._2xb4-20k_...py``) and every relative
  Markdown link exists; ``focus_mm.x.y`` names import.
- registered types: every ``type='X'`` names a registered component; ``X(arg=...)`` in code names an
  argument that ``X`` takes; every registry row of ``docs/api.md`` lists exactly focus_mm's components
  of that registry.
- cross references: a quoted section name followed by "above" or "below" is a heading on that side.

Rewrite docs/api.md after registering a component: ``python tests/test_docs/docs_check.py --write-api``.
Run on another checkout (e.g. an old commit's worktree):
``PYTHONPATH=TREE python tests/test_docs/docs_check.py --root TREE``.
"""
import argparse
import contextlib
import fnmatch
import glob
import importlib
import importlib.util
import inspect
import io
import os
import os.path as osp
import re
import shlex
import sys
from typing import Dict, Iterator, List, Optional, Tuple
from unittest import mock

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Path roots that the docs name; other paths (work_dirs/, data/, outputs/) are made by the reader.
PATH_ROOTS = ('configs', 'tools', 'focus_mm', 'tests', 'projects', 'docs', 'demo')
PATH_RE = re.compile(r'(?<![\w./$~-])((?:%s)/[\w./{},*@+-]*[\w}*/])' % '|'.join(PATH_ROOTS))
MADE_BY_READER = ('docs/_build', )
CONFIG_NAME_RE = re.compile(r'(?<![\w/*-])([\w.*-]+_\d+xb\d+-[\w.*-]+\.py)\b')
LINK_RE = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')
MODULE_RE = re.compile(r'(?<![\w.])(focus_mm(?:\.[A-Za-z_]\w*)+)')
TYPE_RE = re.compile(r'''\btype\s*=\s*['"]([\w.]+)['"]''')
CALL_RE = re.compile(r'(?<![\w.])([A-Z]\w+)\(([^()`]*)\)')
KWARG_RE = re.compile(r'(?:^|[,(]\s*)(\w+)\s*=(?!=)')
TOOL_CMD_RE = re.compile(r'(?:^|[\s;&|`(])((?:python3?|bash)\s+(?:tools|demo)/\S+\.(?:py|sh)\b.*)')
TOOL_FLAG_RE = re.compile(r'`((?:tools|demo)/[\w/]+\.py)((?:\s+--[\w-]+)+)[^`]*`')
SEE_RE = re.compile(r'["*]([^"*\n]{3,80})["*],?\s+(above|below)\b')


def doc_files(root: str) -> List[str]:
    files = [osp.join(root, 'README.md')]
    files += sorted(glob.glob(osp.join(root, 'docs', '**', '*.md'), recursive=True))
    return [f for f in files if osp.isfile(f) and '/_build/' not in f]


def rel(root: str, path: str) -> str:
    return osp.relpath(path, root)


def code_blocks(text: str) -> Iterator[Tuple[int, str]]:
    """(first line number, body) of each fenced block."""
    for m in re.finditer(r'^```[^\n]*\n(.*?)^```', text, re.S | re.M):
        yield text.count('\n', 0, m.start()) + 2, m.group(1)


def prose(text: str) -> str:
    """The text with fenced blocks blanked (line numbers kept)."""
    return re.sub(r'^```[^\n]*\n.*?^```', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S | re.M)


def line_of(text: str, pos: int) -> int:
    return text.count('\n', 0, pos) + 1


# ---------------------------------------------------------------------------------------------- commands
def extract_commands(text: str) -> List[Tuple[int, str]]:
    """Shell commands that run a tool, with their line numbers: from fenced blocks (continuation lines
    joined, comments dropped, loops' variables given their first value) and from inline code."""
    found = []
    for start, body in code_blocks(text):
        lines = body.split('\n')
        loop_vars: Dict[str, str] = {}
        i = 0
        while i < len(lines):
            lineno, line = start + i, lines[i]
            while line.rstrip().endswith('\\') and i + 1 < len(lines):
                i += 1
                line = line.rstrip()[:-1] + ' ' + lines[i].strip()
            i += 1
            for var, first in re.findall(r'\bfor\s+(\w+)\s+in\s+(\S+)', line):
                loop_vars[var] = first
            for part in re.split(r'\s*(?:;|&&|\|\|?)\s*', strip_comment(line)):
                m = TOOL_CMD_RE.search(' ' + part)
                if m:
                    cmd = m.group(1)
                    for var, value in loop_vars.items():
                        cmd = re.sub(r'\$\{?%s\}?\b' % var, value, cmd)
                    found.append((lineno, cmd))
    plain = prose(text)
    for m in re.finditer(r'`([^`\n]+)`', plain):
        span = m.group(1)
        if re.match(r'(?:python3?|bash)\s+(?:tools|demo)/', span):
            found.append((line_of(plain, m.start()), span))
    return found


def strip_comment(line: str) -> str:
    """The line without a shell comment (a # outside quotes that starts a word)."""
    out, quote = [], None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in '\'"':
            quote = ch
        elif ch == '#' and (i == 0 or line[i - 1].isspace()):
            break
        out.append(ch)
    return ''.join(out).strip()


def command_argv(cmd: str) -> Tuple[str, List[str]]:
    """The tool's path and its arguments: optional parts ``[--x y]`` taken, ``[...]`` / ``...`` dropped."""
    cmd = re.sub(r'\[\.\.\.\]', ' ', cmd)
    cmd = re.sub(r'\[(--[^\[\]]*)\]', r'\1', cmd)
    words = shlex.split(cmd)
    words = [w for w in words if w != '...']
    return words[1], words[2:]


class _Parsed(Exception):

    def __init__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace):
        super().__init__('parsed')
        self.parser, self.namespace = parser, namespace


_TOOL_CACHE: Dict[str, object] = {}


def load_tool(root: str, path: str):
    """Import a tool script as a module (cached)."""
    full = osp.join(root, path)
    if full not in _TOOL_CACHE:
        name = '_docs_tool_' + re.sub(r'\W', '_', path)
        spec = importlib.util.spec_from_file_location(name, full)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _TOOL_CACHE[full] = module
    return _TOOL_CACHE[full]


def parse_with_tool(root: str, tool: str, argv: List[str]) -> Tuple[Optional[_Parsed], str]:
    """Run the tool's ``main`` until its parser has parsed ``argv`` (then stop): the parse result, or
    None and argparse's message."""
    module = load_tool(root, tool)
    real = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, args=None, namespace=None):
        ns = real(self, args, namespace)
        raise _Parsed(self, ns)

    err = io.StringIO()
    with mock.patch.object(argparse.ArgumentParser, 'parse_args', parse_and_stop), \
            mock.patch('torch.cuda.is_available', return_value=True), \
            mock.patch.object(sys, 'argv', [tool, *argv]), contextlib.redirect_stderr(err), \
            contextlib.redirect_stdout(io.StringIO()):
        try:
            main = module.main
            if 'argv' in inspect.signature(main).parameters:
                main(argv)
            else:
                main()
        except _Parsed as parsed:
            check = getattr(module, 'check_args', None)
            if check is not None:
                try:
                    check(parsed.parser, parsed.namespace)
                except SystemExit:
                    return None, err.getvalue().strip().splitlines()[-1]
            return parsed, ''
        except SystemExit:
            return None, (err.getvalue().strip().splitlines() or ['exit'])[-1]
    return None, 'the tool finished without parsing arguments'


def shell_tool_argv(root: str, script: str, argv: List[str]) -> Tuple[Optional[str], List[str], str]:
    """What a shell script passes to a Python tool: (tool, argv, problem)."""
    name = osp.basename(script)
    if name == 'dist_train.sh':
        return 'tools/train.py', argv[:1] + argv[2:], '' if len(argv) >= 2 else 'needs CONFIG GPUS'
    if name == 'dist_test.sh':
        return 'tools/test.py', argv[:2] + argv[3:], '' if len(argv) >= 3 else 'needs CONFIG CHECKPOINT GPUS'
    if name == 'run_demo.sh':
        flags = [a for a in argv if a.startswith('-')]
        bad = [f for f in flags if f != '--universal'] or ([] if not flags or argv[0] == '--universal'
                                                           else ['--universal must come first'])
        return None, [], f'run_demo.sh takes [--universal] [CONFIG] [WORK_DIR], not {bad}' if bad else ''
    return None, [], ''


def check_commands(root: str = REPO) -> List[str]:
    problems = []
    for path in doc_files(root):
        text = open(path, encoding='utf-8').read()
        where = rel(root, path)
        for lineno, cmd in extract_commands(text):
            try:
                tool, argv = command_argv(cmd)
            except ValueError as exc:
                problems.append(f'{where}:{lineno}: cannot split `{cmd}`: {exc}')
                continue
            if not osp.isfile(osp.join(root, tool)):
                problems.append(f'{where}:{lineno}: {tool} does not exist (`{cmd}`)')
                continue
            if tool.endswith('.sh'):
                tool, argv, problem = shell_tool_argv(root, tool, argv)
                if problem:
                    problems.append(f'{where}:{lineno}: {problem} (`{cmd}`)')
                if tool is None:
                    continue
            parsed, message = parse_with_tool(root, tool, argv)
            if parsed is None:
                problems.append(f'{where}:{lineno}: `{cmd}` does not parse: {message}')
                continue
            problems += [f'{where}:{lineno}: {p}' for p in check_cfg_options(root, parsed.namespace, cmd)]
        plain = prose(text)
        for m in TOOL_FLAG_RE.finditer(plain):
            tool, flags = m.group(1), m.group(2).split()
            if not osp.isfile(osp.join(root, tool)):
                continue  # reported by check_paths
            known = tool_options(root, tool)
            for flag in flags:
                if known is not None and flag not in known:
                    problems.append(f'{where}:{line_of(plain, m.start())}: {tool} has no option {flag}')
    return problems


def tool_options(root: str, tool: str) -> Optional[set]:
    """The option strings of the tool's parser (its first ``parse_args`` call, stopped before parsing)."""
    module = load_tool(root, tool)
    captured = {}

    def capture(self, args=None, namespace=None):
        captured['parser'] = self
        raise _Parsed(self, argparse.Namespace())

    with mock.patch.object(argparse.ArgumentParser, 'parse_args', capture), \
            mock.patch('torch.cuda.is_available', return_value=True), \
            mock.patch.object(sys, 'argv', [tool]), contextlib.redirect_stderr(io.StringIO()):
        try:
            main = module.main
            main([]) if 'argv' in inspect.signature(main).parameters else main()
        except (_Parsed, SystemExit):
            pass
    parser = captured.get('parser')
    return set(parser._option_string_actions) if parser else None


def check_cfg_options(root: str, namespace: argparse.Namespace, cmd: str) -> List[str]:
    """``--cfg-options`` of a command whose config is a repository file: they must apply to it."""
    options = getattr(namespace, 'cfg_options', None)
    config = getattr(namespace, 'config', None)
    if not options or not isinstance(options, dict) or not isinstance(config, str):
        return []
    if not osp.isfile(osp.join(root, config)):
        return []
    from focus_mm.utils import cli as common
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            common.load_config(osp.join(root, config), options)
    except (Exception, SystemExit) as exc:  # noqa: BLE001  (any refusal is the finding)
        return [f'--cfg-options of `{cmd}` do not apply to {config}: {exc}']
    return []


# ------------------------------------------------------------------------------------------------- paths
def expand_braces(path: str) -> List[str]:
    m = re.search(r'\{([^{}]*)\}', path)
    if not m:
        return [path]
    out = []
    for alt in m.group(1).split(','):
        out += expand_braces(path[:m.start()] + alt + path[m.end():])
    return out


def check_paths(root: str = REPO) -> List[str]:
    problems = []
    config_names = {
        osp.basename(p) for p in glob.glob(osp.join(root, 'configs', '**', '*.py'), recursive=True)}
    for path in doc_files(root):
        text = open(path, encoding='utf-8').read()
        where = rel(root, path)
        for m in PATH_RE.finditer(text):
            named = m.group(1).rstrip('.,')
            if text[m.end():m.end() + 1] in ('<', '$') or named.startswith(MADE_BY_READER):
                continue  # a pattern with a placeholder (`..._<task>-512x512.py`), or an output folder
            for candidate in expand_braces(named):
                hits = glob.glob(osp.join(root, candidate)) if '*' in candidate else \
                    ([candidate] if osp.exists(osp.join(root, candidate)) else [])
                if not hits:
                    problems.append(f'{where}:{line_of(text, m.start())}: {candidate} does not exist')
        for m in CONFIG_NAME_RE.finditer(text):
            for name in expand_braces(m.group(1)):
                if not fnmatch.filter(config_names, name):
                    problems.append(f'{where}:{line_of(text, m.start())}: no config named {name}')
        for m in LINK_RE.finditer(prose(text)):
            target = m.group(1).split('#')[0]
            if not target or re.match(r'[a-z]+:', target):
                continue
            if not osp.exists(osp.normpath(osp.join(osp.dirname(path), target))):
                problems.append(f'{where}:{line_of(text, m.start())}: link target {target} does not exist')
        for m in MODULE_RE.finditer(text):
            first = osp.join(root, 'focus_mm', m.group(1).split('.')[1])
            if not (osp.isdir(first) or osp.isfile(first + '.py')):
                continue  # not a module path (e.g. the ONNX metadata key focus_mm.task)
            if not importable(m.group(1)):
                problems.append(f'{where}:{line_of(text, m.start())}: {m.group(1)} does not import')
    return problems


def importable(dotted: str) -> bool:
    parts = dotted.split('.')
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


# -------------------------------------------------------------------------------------- registered types
def registries() -> Dict[str, object]:
    """mmseg's and mmengine's registries by their module names (``MODELS``, ``HOOKS``, ...)."""
    import mmengine.registry as mme
    import mmseg.registry as mms

    import focus_mm  # noqa: F401  (registers the components)
    out: Dict[str, object] = {}
    for module in (mme, mms):  # mmseg's, where focus_mm registers, replace mmengine's of that name
        for attr, value in vars(module).items():
            if type(value).__name__ == 'Registry':
                out[attr] = value
    return out


def lookup(name: str):
    """The class or function registered under ``name`` in any registry (or a child of one), or None."""
    import mmengine.registry as mme
    import mmseg.registry as mms
    for module in (mms, mme):
        for value in vars(module).values():
            if type(value).__name__ != 'Registry':
                continue
            for reg in (value, *value.children.values()):
                obj = reg._module_dict.get(name)
                if obj is not None:
                    return obj
    return None


def ours() -> Dict[str, Dict[str, type]]:
    """focus_mm's registered components: {registry (``MODELS``...): {component name: class}}."""
    out: Dict[str, Dict[str, type]] = {}
    for attr, registry in registries().items():
        for name, obj in registry._module_dict.items():
            if getattr(obj, '__module__', '').startswith('focus_mm'):
                out.setdefault(attr, {})[name] = obj
    return out


def accepts(obj, kwarg: str) -> Optional[bool]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None  # it may pass the argument on; cannot tell
    return kwarg in params


def check_types(root: str = REPO) -> List[str]:
    problems = []
    for path in doc_files(root):
        text = open(path, encoding='utf-8').read()
        where = rel(root, path)
        for m in TYPE_RE.finditer(text):
            if lookup(m.group(1).split('.')[-1]) is None:
                problems.append(f'{where}:{line_of(text, m.start())}: type {m.group(1)!r} is not registered')
        spans = [(m.start(), m.group(1)) for m in re.finditer(r'`([^`\n]+)`', prose(text))]
        spans += [(text.find(body), body) for _, body in code_blocks(text)]
        for start, span in spans:
            for m in CALL_RE.finditer(span):
                obj = lookup(m.group(1))
                if obj is None:
                    continue
                for kwarg in KWARG_RE.findall(m.group(2)):
                    if accepts(obj, kwarg) is False:
                        problems.append(f'{where}:{line_of(text, max(start, 0))}: {m.group(1)} takes no '
                                        f'argument {kwarg!r}')
    api = osp.join(root, 'docs', 'api.md')
    if osp.isfile(api):
        problems += check_api_page(root, api)
    return problems


def check_api_page(root: str, api: str) -> List[str]:
    """docs/api.md documents every focus_mm component under the heading of its registry
    (``## MODELS``, then ``.. autoclass:: focus_mm.<module>.<Name>``), and nothing else."""
    problems = []
    text = open(api, encoding='utf-8').read()
    documented: Dict[str, Tuple[Optional[str], int]] = {}
    section = None
    for lineno, line in enumerate(text.split('\n'), 1):
        m = re.match(r'#+\s+`?([A-Z_]+)`?\s*$', line)
        if m:
            section = m.group(1)
        m = re.match(r'\.\.\s+auto(?:class|function)::\s+([\w.]+)', line.strip())
        if m:
            documented[m.group(1).split('.')[-1]] = (section, lineno)
            if not importable(m.group(1)):
                problems.append(f'docs/api.md:{lineno}: {m.group(1)} does not import')
    registered = {name: reg for reg, comps in ours().items() for name in comps}
    for name, reg in sorted(registered.items()):
        if name not in documented:
            problems.append(f'docs/api.md: {name} (registered in {reg}) is not documented')
        elif documented[name][0] != reg:
            problems.append(f'docs/api.md:{documented[name][1]}: {name} is under {documented[name][0]}, '
                            f'registered in {reg}')
    for name, (section, lineno) in sorted(documented.items()):
        if name not in registered and section is not None:
            problems.append(f'docs/api.md:{lineno}: {name} is not a registered focus_mm component')
    return problems


# ------------------------------------------------------------------------------------------ the API page
API_INTRO = """# API: the registered components

By the end of this page you will know every component that `import focus_mm` registers, with its
arguments. They are registered in MMSegmentation's registries, so a config names them by `type` as it
names mmseg's own; our configs say `custom_imports = dict(imports=['focus_mm'])`. The entry points
for Python code are `focus_mm.apis.FocusInferencer` ([inference](user_guides/inference.md)) and
`focus_mm.apis.export_onnx` ([deployment](user_guides/deployment.md)).

This page is written by `python tests/test_docs/docs_check.py --write-api`; the docs test fails when a
registered component is missing from it.
"""
API_ORDER = ('MODELS', 'TASK_UTILS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'HOOKS',
             'OPTIM_WRAPPER_CONSTRUCTORS')


def public_path(obj) -> str:
    """The shortest ``package.Name`` path under which ``obj`` can be imported."""
    parts = obj.__module__.split('.')
    for cut in range(1, len(parts)):
        if getattr(importlib.import_module('.'.join(parts[:cut])), obj.__name__, None) is obj:
            return '.'.join(parts[:cut] + [obj.__name__])
    return f'{obj.__module__}.{obj.__name__}'


def write_api_page(root: str = REPO) -> str:
    """Write docs/api.md: a section per registry (known ones first), an autodoc entry per component."""
    components = ours()
    lines = [API_INTRO]
    for registry in sorted(components, key=lambda r: (API_ORDER.index(r) if r in API_ORDER else 99, r)):
        lines += [f'## {registry}', '']
        for name, obj in sorted(components[registry].items()):
            lines += ['```{eval-rst}', f'.. autoclass:: {public_path(obj)}', '```', '']
    path = osp.join(root, 'docs', 'api.md')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines).rstrip('\n') + '\n')
    return path


# -------------------------------------------------------------------------------------- cross references
def check_cross_references(root: str = REPO) -> List[str]:
    problems = []
    for path in doc_files(root):
        text = open(path, encoding='utf-8').read()
        headings = {m.group(2).strip().strip('`').lower(): m.start()
                    for m in re.finditer(r'^(#+)\s+(.+)$', prose(text), re.M)}
        for m in SEE_RE.finditer(prose(text)):
            pos = headings.get(m.group(1).strip().lower())
            if pos is None:
                continue
            if (m.group(2) == 'above') != (pos < m.start()):
                problems.append(f'{rel(root, path)}:{line_of(text, m.start())}: "{m.group(1)}" is not '
                                f'{m.group(2)}')
    return problems


# ------------------------------------------------------------------------------------------ the task table
def _sets(dataset) -> List[Tuple[str, Optional[int]]]:
    """(dataset_name, expected_size) of a dataset config, or of each member of a ConcatDataset."""
    if dataset.get('type') == 'ConcatDataset':
        return [s for d in dataset['datasets'] for s in _sets(d)]
    return [(dataset.get('dataset_name'), dataset.get('expected_size'))]


def _cell_sets(cell: str) -> List[Tuple[str, Optional[int]]]:
    cell = re.sub(r'\([^)]*\)', '', cell)  # remarks in brackets
    return [(name, int(count.replace(',', ''))) for name, count in
            re.findall(r'([A-Za-z][\w.-]*)\s+(\d[\d,]*)', cell)]


def check_task_table(root: str = REPO) -> List[str]:
    """The five tasks' table of docs/user_guides/dataset_prepare.md names each config's training,
    validation and test sets with their release sizes."""
    from mmengine.config import Config
    page = osp.join(root, 'docs', 'user_guides', 'dataset_prepare.md')
    if not osp.isfile(page):
        return [f'{rel(root, page)} does not exist']
    text = open(page, encoding='utf-8').read()
    header = re.search(r'^\|\s*task\s*\|.*$', text, re.M)
    if header is None:
        return [f'{rel(root, page)}: no table of the five tasks']
    columns = [c.strip().split(' ')[0] for c in header.group(0).strip('|').split('|')]
    problems = []
    for key in ('config', 'train', 'validation', 'test'):
        if key not in columns:
            problems.append(
                f'{rel(root, page)}:{line_of(text, header.start())}: the table has no {key} column')
    if problems:
        return problems
    rows = re.findall(r'^\|\s*(COD|SOD|SD|DBD|FD)\s*\|(.*)\|\s*$', text, re.M)
    for task, rest in rows:
        cells = dict(zip(columns[1:], [c.strip() for c in rest.split('|')]))
        name = re.search(r'`([\w.-]+\.py)`', cells['config'])
        path = osp.join(root, 'configs', '_base_', 'datasets', name.group(1)) if name else ''
        if not osp.isfile(path):
            problems.append(f'{rel(root, page)}: {task}: config {cells["config"]} not found')
            continue
        cfg = Config.fromfile(path)
        for column, loader in (('train', 'train_dataloader'), ('validation', 'val_dataloader'),
                               ('test', 'test_dataloader')):
            actual, named = _sets(cfg[loader]['dataset']), _cell_sets(cells[column])
            if sorted(actual, key=str) != sorted(named, key=str):
                problems.append(f'{rel(root, page)}: {task} {column}: the page says {named}, '
                                f'{name.group(1)} has {actual}')
    if len(rows) != 5:
        problems.append(f'{rel(root, page)}: the table has {len(rows)} task rows, not 5')
    return problems


CHECKS = (check_commands, check_paths, check_types, check_cross_references, check_task_table)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='check the docs of a checkout against its code')
    parser.add_argument('--root', default=REPO, help='the checkout (default: this one)')
    parser.add_argument('--write-api', action='store_true',
                        help='rewrite docs/api.md from the registries first')
    args = parser.parse_args(argv)
    root = osp.abspath(args.root)
    os.chdir(root)
    if args.write_api:
        print(f'wrote {write_api_page(root)}')
    total = 0
    for check in CHECKS:
        problems = check(root)
        total += len(problems)
        print(f'== {check.__name__}: {len(problems)} problem(s)')
        for p in problems:
            print('  ' + p)
    return 1 if total else 0


if __name__ == '__main__':
    sys.exit(main())
