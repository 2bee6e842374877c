"""Gather what ``tools/gpu_check.sh`` left in its results folder into one JSON (printed to stdout).

    python tools/setup/gpu_check_report.py --out work_dirs/gpu_check --wheels work_dirs/gpu_wheels \
        --total-s 512

Reads ``stages.tsv`` (stage, exit code, seconds), ``machine.log``, ``cuda_tests.xml`` and
``cuda_tests_slow.xml`` (pytest's JUnit reports: passed / failed / skipped and each failure's message),
the lines the tests print (``cuda_tests.log``: peak memory, AMP losses, kernel errors), ``benchmark.json``
and the mmcv build logs' locations; a missing file leaves its entry out. Standard library only (runs on
the machine's Python).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
import xml.etree.ElementTree as ET


def read_stages(path: str) -> list:
    stages = []
    if osp.isfile(path):
        for line in open(path):
            name, rc, seconds = line.rstrip('\n').split('\t')
            stages.append({'stage': name, 'exit_code': int(rc), 'seconds': int(seconds),
                           'timed_out': int(rc) == 124})
    return stages


def read_junit(path: str) -> dict:
    root = ET.parse(path).getroot()
    suite = root if root.tag == 'testsuite' else root.find('testsuite')
    counts = {key: int(suite.get(key, 0)) for key in ('tests', 'failures', 'errors', 'skipped')}
    counts['passed'] = counts['tests'] - counts['failures'] - counts['errors'] - counts['skipped']
    cases = []
    for case in suite.iter('testcase'):
        outcome, message = 'passed', ''
        for tag in ('failure', 'error', 'skipped'):
            node = case.find(tag)
            if node is not None:
                outcome, message = tag, (node.get('message') or '')[:500]
        cases.append({'test': f'{case.get("classname")}::{case.get("name")}', 'outcome': outcome,
                      'seconds': float(case.get('time', 0)), **({'message': message} if message else {})})
    counts['cases'] = cases
    return counts


def _printed(lines, keys=('FOCUS-L ', 'MSDA ', 'float16: ', 'bfloat16: ')) -> list:
    """The tests' own lines (``-q -s`` puts them after the progress dots of their file)."""
    found = []
    for line in lines:
        starts = [line.find(key) for key in keys if key in line]
        if starts:
            found.append(line[min(starts):].strip())
    return found[:50]


def report(out: str, wheels: str = '', total_s: int = 0) -> dict:
    result = {'date_utc': time.strftime('%Y-%m-%d %H:%M', time.gmtime()), 'total_s': total_s,
              'wheels': wheels, 'stages': read_stages(osp.join(out, 'stages.tsv'))}
    result['ok'] = bool(result['stages']) and all(s['exit_code'] == 0 for s in result['stages'])
    machine = osp.join(out, 'machine.log')
    if osp.isfile(machine):
        result['machine'] = open(machine).read().strip().splitlines()
    for name in ('cuda_tests', 'cuda_tests_slow'):
        junit = osp.join(out, f'{name}.xml')
        if osp.isfile(junit):
            result[name] = read_junit(junit)
    test_log = osp.join(out, 'cuda_tests.log')
    if osp.isfile(test_log):  # what the tests print (-s): peak memory, AMP losses, MSDA errors
        result['cuda_test_prints'] = _printed(open(test_log, errors='replace').read().splitlines())
    bench = osp.join(out, 'benchmark.json')
    if osp.isfile(bench):
        result['benchmark'] = json.load(open(bench))
    cache = os.environ.get('FOCUS_CACHE')
    if cache and osp.isdir(osp.join(cache, 'logs')):
        logs = osp.join(cache, 'logs')
        result['mmcv_build_logs'] = sorted(osp.join(logs, f) for f in os.listdir(logs))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True)
    parser.add_argument('--wheels', default='')
    parser.add_argument('--total-s', type=int, default=0)
    args = parser.parse_args(argv)
    json.dump(report(args.out, args.wheels, args.total_s), sys.stdout, indent=2)
    print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
