"The trajectory system as a user meets it: train, eval and explain from the shell, on a file the test renders."
import json

import numpy as np
import pytest

from conftest import vcore, vcore_env, vcore_main
from vcore.trajectory.data import make_dataset, save_trajectories

TINY = """system: trajectory
data: {horizon: 2}
model: {widths: [4, 8, 8, 8], depths: [1, 1, 1, 1], temporal_stride: [1, 1, 1, 1], levels: [5, 5, 5], vq_hidden: 16, dim: 24, depth: 1, num_heads: 2}
train: {steps: 4, batch_size: 4, lr: 1.0e-3, warmup_steps: 1, eval_every: 4, log_every: 2, device: cpu, monitor: val/accuracy, monitor_mode: max}
"""


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    "A small trajectory file (16 clips of 8 frames at 32 px) and a model trained on it for a few steps."
    d = tmp_path_factory.mktemp('traj')
    save_trajectories(d/'clips.npz', make_dataset(n=16, frames=8, size=32, seed=3))
    (d/'tiny.yaml').write_text(TINY)
    r = vcore_main('train', d/'tiny.yaml', '--data', d/'clips.npz', '--out', d/'run')
    assert r.returncode == 0, r.stderr
    return d


def test_eval_reports_every_metric(clips):
    r = vcore_main('eval', clips/'run/best.pt', '--data', clips/'clips.npz', '--out', clips/'m.json')
    assert r.returncode == 0, r.stderr
    m = json.loads((clips/'m.json').read_text())
    for k in ('accuracy', 'per_class_accuracy', 'forecast_mae', 'forecast_rmse', 'forecast_mae_last', 'codebook_perplexity', 'codebook_usage'):
        assert k in m, k
    assert set(m['per_class_accuracy']) == {'linear', 'circular', 'helical', 'parabolic'}
    assert sum(map(sum, m['confusion'])) == 16          # every clip of the file was scored
    assert 1 <= m['codebook_perplexity'] <= 125


def test_explain_numeric(clips):
    r = vcore_main('explain', clips/'run/best.pt', '--data', clips/'clips.npz', '--out', clips/'eq.jsonl')
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in (clips/'eq.jsonl').read_text().splitlines()]
    assert len(rows) == 16 and sorted(r['index'] for r in rows) == list(range(16))
    for row in rows:
        assert row['source'] == 'numeric' and row['fitted_family'] in ('linear', 'circular', 'helical', 'parabolic')
        assert row['r2'] > 0.9 and row['equation'].startswith('[')
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary['clips'] == 16 and summary['sources'] == {'numeric': 16}


@pytest.mark.parametrize('name,change,message', [
    ('rank.npz', lambda d: {'videos': d['videos'][..., 0]}, "videos"),
    ('dtype.npz', lambda d: {'videos': d['videos'].astype(np.float32)}, "videos"),
    ('nan.npz', lambda d: {'positions': np.where(np.arange(6)[None, :, None] == 2, np.nan, d['positions']).astype(np.float32)}, "positions"),
])
def test_bad_files_are_refused(clips, tmp_path, name, change, message):
    d = make_dataset(n=4, frames=6, size=16, seed=0)
    d.update(change(d))
    np.savez(tmp_path/name, **d)
    for args in (('eval', clips/'run/best.pt', '--data', tmp_path/name, '--out', tmp_path/'m.json'),
                 ('explain', clips/'run/best.pt', '--data', tmp_path/name, '--out', tmp_path/'eq.jsonl')):
        r = vcore_main(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert message in r.stderr and name in r.stderr, r.stderr
        assert 'Traceback' not in r.stderr
    assert not (tmp_path/'m.json').exists() and not (tmp_path/'eq.jsonl').exists()


def test_too_few_frames_for_the_horizon(clips, tmp_path):
    save_trajectories(tmp_path/'short.npz', make_dataset(n=4, frames=2, size=16, seed=0))
    r = vcore_main('explain', clips/'run/best.pt', '--data', tmp_path/'short.npz', '--out', tmp_path/'eq.jsonl')
    assert r.returncode == 2 and 'too few frames for the forecast horizon' in r.stderr, r.stderr
    assert not (tmp_path/'eq.jsonl').exists()


def test_explain_with_llm_paths(clips, tmp_path):
    "The real openai client in `vcore explain --llm` against a loopback server: every path ends in a checked equation."
    from vcore.trajectory.data import load_trajectories
    from vcore.trajectory.equations import fit_best
    from vcore.testing import ChatReply, ChatServer
    d = load_trajectories(clips/'clips.npz')
    t = np.arange(d['positions'].shape[1]) / d['fps']
    good = [json.dumps({'equation': fit_best(p.astype(np.float64), t)[0].equation, 'description': f'clip {i}'})
            for i, p in enumerate(d['positions'])]
    script = ([ChatReply(status=429), good[0]]                              # rate limited, retried
              + ['{"equation": "[t, t"', good[1]]                          # malformed JSON, sent back once
              + [json.dumps({'equation': '[0, 0, 0]', 'description': 'still'})] * 2   # does not fit, twice: numeric fallback
              + [ChatReply(status=500)] * 2                                 # server error past the retries: numeric fallback
              + [ChatReply(good[4], delay=3.0), good[4]]                    # slower than the timeout, retried
              + good[5:])
    secret = 'sk-test-secret-do-not-log'
    with ChatServer(script) as server:
        r = vcore('explain', clips/'run/best.pt', '--data', clips/'clips.npz', '--out', tmp_path/'eq.jsonl', '--llm',
                  '--base_url', server.url, '--timeout', 1.0, '--retries', 1, '--model', 'test-model',
                  env=vcore_env(OPENAI_API_KEY=secret))
    assert r.returncode == 0, r.stderr
    rows = {row['index']: row for row in map(json.loads, (tmp_path/'eq.jsonl').read_text().splitlines())}
    assert len(rows) == 16
    assert rows[0]['source'] == 'llm' and rows[0]['description'] == 'clip 0'
    assert rows[1]['source'] == 'llm_retry' and rows[1]['description'] == 'clip 1'
    assert rows[2]['source'] == 'numeric_fallback' and 'does not fit' in rows[2]['reason']
    assert rows[3]['source'] == 'numeric_fallback' and 'server error' in rows[3]['reason']
    assert rows[4]['source'] == 'llm' and rows[5]['source'] == 'llm'
    for row in rows.values():      # every equation written was checked against the clip's points
        assert row['r2'] >= 0.9, row
    assert secret not in (tmp_path/'eq.jsonl').read_text() and secret not in r.stdout + r.stderr
    assert all(req['headers'].get('authorization') == f'Bearer {secret}' for req in server.requests)


def test_explain_llm_without_key_says_so(clips, tmp_path, monkeypatch):
    monkeypatch.delenv('OPENAI_API_KEY', raising=False)
    r = vcore_main('explain', clips/'run/best.pt', '--data', clips/'clips.npz', '--out', tmp_path/'eq.jsonl', '--llm')
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in (tmp_path/'eq.jsonl').read_text().splitlines()]
    assert {row['source'] for row in rows} == {'numeric_no_llm'}
    assert all('OPENAI_API_KEY' in row['reason'] for row in rows)
