import contextlib, io, os, subprocess, sys
from pathlib import Path
from types import SimpleNamespace

import pytest

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


def vcore_env(**extra):
    "Environment for subprocesses: the tests' folder on PYTHONPATH so `tiny_recipe:recipe` imports."
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(HERE), os.environ.get('PYTHONPATH')])),
           'OMP_NUM_THREADS': '1'}
    env.pop('IN_TEST', None)
    return {**env, **extra}


def vcore(*args, env=None, cwd=None, timeout=300):
    "Run the installed `vcore` command; return the CompletedProcess."
    return subprocess.run([str(BIN/'vcore'), *map(str, args)], capture_output=True, text=True,
                          env=env or vcore_env(), cwd=cwd, timeout=timeout)


def vcore_main(*args):
    """Run `vcore ARGS` in-process through the installed entry point (`vcore.cli.main`): what the command does,
    without a new interpreter per case. Returns an object with `returncode`, `stdout` and `stderr`, like `vcore(...)`;
    a traceback escapes as an exception and fails the test."""
    from vcore.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): code = main([str(a) for a in args])
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def vcore_status(*args) -> tuple[int, str]:
    "`vcore_main(*args)` as (exit status, stderr), for table-driven bad-input cases."
    r = vcore_main(*args)
    return r.returncode, r.stderr

TINY = """system: tiny_recipe:recipe
data: {n_train: 64, n_val: 24}
model: {hidden: 16, dropout: %(dropout)s}
train: {steps: %(steps)d, batch_size: %(bs)d, lr: 0.05, warmup_steps: 2, eval_every: 5, log_every: 5, device: cpu, seed: 0}
"""


@pytest.fixture
def tiny_config(tmp_path):
    "Write the tiny recipe's YAML config; returns a function of (steps, batch size, dropout)."
    def make(steps=20, bs=8, dropout=0.1, name='tiny.yaml'):
        p = tmp_path/name
        p.write_text(TINY % dict(steps=steps, bs=bs, dropout=dropout))
        return p
    return make
