"`vcore insilico` on a tiny trained V1 checkpoint: tuning.json, mei.npz and figures; bad inputs named."
import json

import numpy as np
import pytest

from conftest import vcore_main as vcore   # in-process: the same entry point, without an interpreter per case

TINY = ['data.sim_neurons=[4, 6]', 'data.sim_trials=4', 'data.sim_trial_len=0.5', 'data.lags=8',
        "model.core_args={hidden: 4, layers: 1, kernel: [3, 5, 5]}",
        'train.steps=2', 'train.batch_size=8', 'train.eval_every=2', 'train.device=cpu']
QUICK = ['--mei_steps', '3', '--orientations', '4']   # the experiments' sizes, small: the test checks what is written
FIELDS = {'rf_x', 'rf_y', 'orientation_deg', 'sf_cpp', 'f1_f0', 'dsi'}


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A tiny V1 run on the built-in population."
    out = tmp_path_factory.mktemp('v1')/'run'
    r = vcore('train', 'v1_cnn_demo', '--out', out, '--set', *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_insilico_writes_tuning_mei_and_figures(tmp_path, run):
    r = vcore('insilico', run/'best.pt', '--out', tmp_path/'twin', '--device', 'cpu', *QUICK)
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads((tmp_path/'twin'/'tuning.json').read_text())
    assert doc['frame_size'] == [51, 51] and doc['fps'] == 120. and doc['lags'] == 8 and len(doc['eye_deg']) == 2
    assert {s: len(v) for s, v in doc['sessions'].items()} == {'sim0': 4, 'sim1': 6}
    for recs in doc['sessions'].values():
        for i, rec in enumerate(recs):
            assert rec['neuron'] == i and FIELDS <= set(rec)
            assert 0 <= rec['orientation_deg'] < 180 and 0 < rec['sf_cpp'] <= 0.5 and 0 <= rec['dsi'] <= 1 and rec['f1_f0'] >= 0
            assert -0.5 <= rec['rf_x'] <= 50.5 and -0.5 <= rec['rf_y'] <= 50.5
            assert rec['direction_deg'] % 45 == 0   # 4 orientations: directions 45 degrees apart
    with np.load(tmp_path/'twin'/'mei.npz') as z:
        assert z['sim0'].shape == (4, 8, 51, 51) and z['sim1_activation'].shape == (6, 3) and np.isfinite(z['sim1']).all()
    assert {p.name for p in (tmp_path/'twin'/'figures').iterdir()} == {f'sim{i}_{k}.png' for i in (0, 1) for k in ('rf', 'tuning', 'mei')}
    assert json.loads(r.stdout.strip().splitlines()[-1])['sessions']['sim1']['n_neurons'] == 6


def test_insilico_one_session(tmp_path, run):
    r = vcore('insilico', run/'best.pt', '--session', 'sim1', '--out', tmp_path/'twin', *QUICK)
    assert r.returncode == 0, r.stderr[-3000:]
    assert list(json.loads((tmp_path/'twin'/'tuning.json').read_text())['sessions']) == ['sim1']


def test_insilico_unknown_session(tmp_path, run):
    r = vcore('insilico', run/'best.pt', '--session', 'mouse7', '--out', tmp_path/'twin')
    assert r.returncode == 2 and "session 'mouse7'" in r.stderr and 'sim0, sim1' in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'twin'/'tuning.json').exists()


@pytest.mark.parametrize('option', ['--mei_steps', '--orientations'])
def test_insilico_sizes_must_be_positive(tmp_path, run, option):
    r = vcore('insilico', run/'best.pt', '--out', tmp_path/'twin', option, '0')
    assert r.returncode == 2 and f'{option}: expected a positive integer, got 0' in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'twin').exists()   # checked before anything is written


def test_insilico_checkpoint_of_another_system(tmp_path, tiny_config):
    out = tmp_path/'toy'
    assert vcore('train', tiny_config(steps=2), '--out', out).returncode == 0
    r = vcore('insilico', out/'best.pt', '--out', tmp_path/'twin')
    assert r.returncode == 2 and 'has no in-silico step' in r.stderr, r.stderr[-2000:]
    from vcore.neuro.insilico import ground_truth_scores
    with pytest.raises(ValueError, match="expected a 'v1' checkpoint"): ground_truth_scores(out/'best.pt')


def test_ground_truth_scores_on_tiny_run(run):
    from vcore.neuro.insilico import ground_truth_scores
    res = ground_truth_scores(run/'best.pt', min_bps=-np.inf, n_probes=4)
    s = res['summary']
    assert s['n_neurons'] == 10 and 5 <= s['n_kept'] <= 10 and s['generator'] == 'builtin'   # a neuron silent on the held-out bins has no bits/spike
    assert 0 <= s['median_orientation_error_deg'] <= 90 and 0 <= s['simple_agreement'] <= 1 and s['median_rf_error_px'] >= 0
    truth = res['sessions']['sim0']['truth']
    assert truth['rf_x'].shape == (4,) and np.all((truth['orientation_deg'] >= 0) & (truth['orientation_deg'] < 180))
    assert np.all(truth['dsi'] < 0.05)   # the builtin generator's cells are separable
