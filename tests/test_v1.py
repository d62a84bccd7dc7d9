"The V1 system through the command line: train on built-in data or on session files, eval held-out files to JSON."
import json

import numpy as np
import pytest

from conftest import vcore_main as vcore   # in-process: the same entry point, without an interpreter per case

TINY = ['data.sim_neurons=[4, 6]', 'data.sim_trials=4', 'data.sim_trial_len=0.5', 'data.lags=8',
        "model.core_args={hidden: 4, layers: 1, kernel: [3, 5, 5]}",
        'train.steps=2', 'train.batch_size=8', 'train.eval_every=2', 'train.device=cpu']


@pytest.fixture(scope='module')
def sessions(tmp_path_factory):
    "The tiny built-in population written to files (the same sessions the built-in data makes)."
    from vcore.neuro.simulate import simulate_population
    d = tmp_path_factory.mktemp('sessions')
    simulate_population(d, n_sessions=2, n_neurons=(4, 6), seed=0, n_trials=4, trial_len=0.5)
    return d


def test_train_builtin_then_eval_files(tmp_path, sessions):
    r = vcore('train', 'v1_cnn_demo', '--out', tmp_path/'run', '--set', *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    r = vcore('eval', tmp_path/'run'/'best.pt', '--data', sessions, '--out', tmp_path/'m.json')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path/'m.json').read_text())
    assert {'bps', 'bps_pooled', 'oracle_bps', 'sessions'} <= set(m)
    assert set(m['sessions']) == {'sim0', 'sim1'}
    assert [m['sessions'][s]['n_neurons'] for s in ('sim0', 'sim1')] == [4, 6]
    for s in m['sessions'].values(): assert {'bps', 'bps_pooled', 'oracle_bps'} <= set(s)
    # held-out files are scored on every valid bin, so the pooled oracle is computed over more data than validation
    assert np.isfinite(m['bps']) and np.isfinite(m['oracle_bps'])


def test_train_on_files(tmp_path, sessions):
    r = vcore('train', 'v1_cnn_demo', '--data', sessions, '--out', tmp_path/'run', '--set', *TINY)
    assert r.returncode == 0, r.stderr[-3000:]


def test_eval_rejects_unknown_session(tmp_path, sessions):
    assert vcore('train', 'v1_cnn_demo', '--out', tmp_path/'run', '--set', *TINY).returncode == 0
    other = tmp_path/'other'; other.mkdir()
    (other/'mouse7.npz').write_bytes((sessions/'sim0.npz').read_bytes())
    r = vcore('eval', tmp_path/'run'/'best.pt', '--data', other, '--out', tmp_path/'m.json')
    assert r.returncode == 2 and 'mouse7' in r.stderr and 'sim0' in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'m.json').exists()


def test_bad_session_file_is_named(tmp_path):
    bad = tmp_path/'data'; bad.mkdir()
    np.savez(bad/'s1.npz', stim=np.zeros((10, 4, 4), np.uint8))
    r = vcore('train', 'v1_cnn_demo', '--data', bad, '--out', tmp_path/'run', '--set', *TINY)
    assert r.returncode == 2 and 's1.npz' in r.stderr and 'robs' in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'run').exists()


def test_checkpoint_stands_alone(tmp_path):
    "Train on session files, move them away: eval rebuilds the model from the checkpoint and scores another folder."
    from vcore.neuro.simulate import simulate_population
    train, held = tmp_path/'train', tmp_path/'held'
    simulate_population(train, n_sessions=2, n_neurons=(4, 6), seed=0, n_trials=4, trial_len=0.5)
    simulate_population(held, n_sessions=2, n_neurons=(4, 6), seed=7, n_trials=3, trial_len=0.5)   # new trials, same sessions
    r = vcore('train', 'v1_cnn_demo', '--data', train, '--out', tmp_path/'run', '--set', *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    train.rename(tmp_path/'moved')
    r = vcore('eval', tmp_path/'run'/'best.pt', '--data', held, '--out', tmp_path/'m.json')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path/'m.json').read_text())
    assert [m['sessions'][s]['n_neurons'] for s in ('sim0', 'sim1')] == [4, 6]
    assert np.isfinite(m['bps']) and np.isfinite(m['oracle_bps'])
    (held/'sim1.npz').unlink()                                   # a subset of the sessions is scored alone
    r = vcore('eval', tmp_path/'run'/'best.pt', '--data', held, '--out', tmp_path/'m0.json')
    assert r.returncode == 0 and list(json.loads((tmp_path/'m0.json').read_text())['sessions']) == ['sim0'], r.stderr[-3000:]
    r = vcore('eval', tmp_path/'run'/'best.pt', '--out', tmp_path/'m1.json')   # no --data: the training split is gone
    assert r.returncode == 2 and str(train) in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'m1.json').exists()


def test_config_holds_the_sessions(tmp_path):
    "config.yaml and the checkpoint hold the neurons per session and the frame size that the data gave."
    import yaml
    from vcore.train import load_model
    assert vcore('train', 'v1_cnn_demo', '--out', tmp_path/'run', '--set', *TINY).returncode == 0
    saved = yaml.safe_load((tmp_path/'run'/'config.yaml').read_text())['model']
    assert saved['n_neurons'] == {'sim0': 4, 'sim1': 6} and saved['frame_size'] == [51, 51]
    model, cfg, recipe = load_model(tmp_path/'run'/'best.pt')
    assert recipe.name == 'v1' and {k: r.n_neurons for k, r in model.readouts.items()} == {'sim0': 4, 'sim1': 6}
