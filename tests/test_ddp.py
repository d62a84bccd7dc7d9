"DDP with 2 CPU processes (gloo, torchrun) makes the same steps as one process on the doubled batch."
import json, subprocess, sys

import torch

from conftest import BIN, vcore, vcore_env


def test_two_processes_match_one_on_doubled_batch(tmp_path, tiny_config):
    one = vcore('train', tiny_config(steps=8, bs=8, dropout=0.0, name='one.yaml'), '--out', tmp_path/'one')
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2',
                          '--no-python', str(BIN/'vcore'), 'train', str(tiny_config(steps=8, bs=4, dropout=0.0, name='two.yaml')),
                          '--out', str(tmp_path/'two')], capture_output=True, text=True, env=vcore_env(), timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    a = torch.load(tmp_path/'one'/'last.pt', weights_only=True)
    b = torch.load(tmp_path/'two'/'last.pt', weights_only=True)
    assert b['world_size'] == 2 and b['step'] == 8
    for k in a['model']: torch.testing.assert_close(a['model'][k], b['model'][k], rtol=1e-5, atol=1e-6)
    # evaluation gathers every validation sample from both ranks
    assert b['metrics']['val/n'] == a['metrics']['val/n'] == 24
    assert abs(b['metrics']['val/loss'] - a['metrics']['val/loss']) < 1e-5
    # rank 0 alone writes: one summary line, one log
    assert len([l for l in two.stdout.splitlines() if l.startswith('{')]) == 1
    log = [json.loads(l) for l in (tmp_path/'two'/'metrics.jsonl').read_text().splitlines()]
    assert [r['step'] for r in log if 'val/loss' in r] == [5, 8]
