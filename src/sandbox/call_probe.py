"""repolens call probe: a pytest plugin recording which tests call the target functions.

Loaded by the sandbox with `-p repolens_call_probe` from a directory outside the workspace (put
on PYTHONPATH), never from the user's tree. REPOLENS_PROBE_CONFIG names a JSON file
{"targets": [{"file": "pkg/mod.py", "qualname": "Class.method"}]} (files relative to pytest's
rootdir); the report goes to REPOLENS_PROBE_OUT as {"version": 1, "tests": {nodeid: [qualname]}}.

Calls are seen with sys.setprofile (and threading.setprofile for threads started by a test),
enabled from pytest_runtest_logstart to pytest_runtest_logfinish, so a call counts for the test
whose setup, call or teardown made it. A code object is matched once, by its real file path and
its qualified name (co_qualname; before Python 3.11, co_name and the first line's name part),
and the answer is cached per code object, so the per-call cost is one dict lookup. Not seen:
calls made in subprocesses, and functions whose code is replaced at runtime.
"""

import json
import os
import sys
import threading

_targets = {}
_by_name = {}
_seen = {}
_calls = {}
_current = [None]


def _match(code):
    path = os.path.realpath(code.co_filename)
    qualname = getattr(code, "co_qualname", None)
    if qualname is not None:
        return _targets.get((path, qualname))
    return _by_name.get((path, code.co_name))


def _profile(frame, event, arg):
    if event != "call":
        return
    code = frame.f_code
    label = _seen.get(code, False)
    if label is False:
        try:
            label = _match(code)
        except Exception:
            label = None
        _seen[code] = label
    if label is not None and _current[0] is not None:
        _calls[_current[0]].add(label)


def pytest_configure(config):
    with open(os.environ["REPOLENS_PROBE_CONFIG"], encoding="utf-8") as f:
        targets = json.load(f)["targets"]
    root = str(config.rootpath)
    for target in targets:
        path = os.path.realpath(os.path.join(root, target["file"]))
        _targets[(path, target["qualname"])] = target["qualname"]
        _by_name[(path, target["qualname"].rsplit(".", 1)[-1])] = target["qualname"]


def pytest_runtest_logstart(nodeid, location):
    _current[0] = nodeid
    _calls.setdefault(nodeid, set())
    threading.setprofile(_profile)
    sys.setprofile(_profile)


def pytest_runtest_logfinish(nodeid, location):
    sys.setprofile(None)
    threading.setprofile(None)
    _current[0] = None


def pytest_unconfigure(config):
    out = os.environ.get("REPOLENS_PROBE_OUT")
    if not out:
        return
    report = {"version": 1, "tests": {k: sorted(v) for k, v in _calls.items()}}
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f)
    os.replace(tmp, out)
