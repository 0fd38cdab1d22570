# Shared harness of the Python compat runners (compat-tests/<client>/runner.py): result lines,
# per-scenario process isolation with a hard time limit, the scenario loop and the command line
# of the runner contract (../README.md). Each runner supplies its scenarios and the two
# cross-client operations.

import json
import multiprocessing as mp
import os
import sys
import time
import traceback

SCENARIO_LIMIT_S = float(os.environ.get('BROOK_COMPAT_SCENARIO_S', '40'))
TOTAL_LIMIT_S = float(os.environ.get('BROOK_COMPAT_TOTAL_S', '220'))


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


class Known(Exception):
    """A client limitation documented in FINDINGS.md (status known, not counted as a failure)."""


class Skip(Exception):
    """The client has no such feature."""


def msgset(n, tag, headers=None):
    """The cross-client message set: key k<i>, value v<i>-<tag>."""
    return [(('k%d' % i).encode(), ('v%d-%s' % (i, tag)).encode(), headers) for i in range(n)]


def _child(fn, bs, conn):
    try:
        conn.send(('pass', fn(bs)))
    except Known as e:
        conn.send(('known', str(e)))
    except Skip as e:
        conn.send(('skip', str(e)))
    except BaseException as e:  # noqa
        tb = traceback.format_exc().strip().splitlines()
        conn.send(('fail', '%s: %s [%s]' % (type(e).__name__, e, ' / '.join(tb[-3:-1]))))
    finally:
        conn.close()


def run_isolated(fn, bs, limit_s):
    """Runs fn(bs) in a forked process; a client that hangs is killed after limit_s."""
    ctx = mp.get_context('fork')
    rd, wr = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(fn, bs, wr), daemon=True)
    t0 = time.time()
    p.start()
    wr.close()
    res = None
    if rd.poll(limit_s):
        try:
            res = rd.recv()
        except EOFError:
            res = None
    p.join(5)
    if p.is_alive():
        p.kill()
        p.join(2)
    if res is None:
        res = ('fail', 'timed out after %.0f s (or crashed, exit code %s)' % (time.time() - t0, p.exitcode))
    return res, time.time() - t0


def run_scenarios(scenarios, bs):
    """Runs (name, fn) pairs within the total budget; BROOK_COMPAT_ONLY=a,b picks some."""
    t_start = time.time()
    only = set(filter(None, os.environ.get('BROOK_COMPAT_ONLY', '').split(',')))
    for name, fn in scenarios:
        if only and name not in only:
            continue
        left = TOTAL_LIMIT_S - (time.time() - t_start)
        if left < 5:
            out({'scenario': name, 'status': 'fail', 'detail': 'not run: runner time budget used up'})
            continue
        (status, detail), dt = run_isolated(fn, bs, min(SCENARIO_LIMIT_S, left - 2))
        out({'scenario': name, 'status': status, 'detail': '%s (%.1f s)' % (detail, dt)})


def report_consumed(msgs, count):
    """Prints the cross-client consume result; msgs are (key bytes|None, value bytes|None)."""
    decoded = [{'key': k.decode() if k is not None else None, 'value': v.decode() if v is not None else None} for k, v in msgs]
    ok = len(decoded) >= count
    out({'ok': ok, 'messages': decoded, **({} if ok else {'error': 'got %d/%d' % (len(decoded), count)})})


def guarded(fn):
    """Runs a cross-client operation, turning an exception into an {"ok": false} line."""
    try:
        fn()
    except Exception as e:  # noqa
        out({'ok': False, 'error': '%s: %s' % (type(e).__name__, e)})


def main(argv, scenarios, cross_produce, cross_consume):
    cmd = argv[1] if len(argv) > 1 else ''
    if cmd == 'scenarios' and len(argv) == 3:
        run_scenarios(scenarios, argv[2])
    elif cmd == 'produce' and len(argv) == 5:
        (status, _), _ = run_isolated(lambda bs: guarded(lambda: cross_produce(bs, argv[3], argv[4])), argv[2], 100)
        if status == 'fail':
            out({'ok': False, 'error': 'producer timed out'})
    elif cmd == 'consume' and len(argv) == 5:
        (status, _), _ = run_isolated(lambda bs: guarded(lambda: cross_consume(bs, argv[3], int(argv[4]))), argv[2], 100)
        if status == 'fail':
            out({'ok': False, 'error': 'consumer timed out'})
    else:
        sys.stderr.write('usage: runner.py scenarios <bootstrap> | produce <bootstrap> <topic> <codec> | consume <bootstrap> <topic> <count>\n')
        return 2
    return 0
