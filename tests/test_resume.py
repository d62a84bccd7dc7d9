"A run killed with SIGKILL and resumed ends bit-identical to an unbroken run (CPU)."
import os, signal, subprocess, time

import torch

from conftest import BIN, vcore, vcore_env


def test_kill_and_resume_is_bit_identical(tmp_path, tiny_config):
    cfg = tiny_config(steps=30)
    assert vcore('train', cfg, '--out', tmp_path/'whole').returncode == 0

    out = tmp_path/'killed'
    p = subprocess.Popen([str(BIN/'vcore'), 'train', str(cfg), '--out', str(out)], env=vcore_env(TINY_SLEEP='0.1'),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (out/'last.pt').exists() and time.time() < deadline and p.poll() is None: time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    step = torch.load(out/'last.pt', weights_only=True)['step']
    assert 0 < step < 30, f'the kill should land mid-run, it landed at step {step}'

    r = vcore('train', cfg, '--out', out, '--resume')
    assert r.returncode == 0, r.stderr
    a = torch.load(tmp_path/'whole'/'last.pt', weights_only=True)
    b = torch.load(out/'last.pt', weights_only=True)
    assert a['step'] == b['step'] == 30
    for k in a['model']: assert torch.equal(a['model'][k], b['model'][k]), k
    for k, s in a['optimizer']['state'].items():
        for name in s: assert torch.equal(s[name], b['optimizer']['state'][k][name]), (k, name)
    assert (tmp_path/'whole'/'metrics.jsonl').read_text() == (out/'metrics.jsonl').read_text()
