"Bad inputs to the V1 system: each ends with exit status 2 (or the named exception), a message naming the file and key, and no output."
import shutil

import h5py
import numpy as np
import pytest

from conftest import vcore_main as vcore   # in-process: the same entry point, without an interpreter per case

TINY = ['data.sim_neurons=[4, 6]', 'data.sim_trials=4', 'data.sim_trial_len=0.5', 'data.lags=8',
        "model.core_args={hidden: 4, layers: 1, kernel: [3, 5, 5]}",
        'train.steps=2', 'train.batch_size=8', 'train.eval_every=2', 'train.device=cpu']


def good_session(T=200, N=4, trial_len=20, H=8, seed=0) -> dict:
    "A small valid session: noise frames, ten trials, Poisson counts."
    g = np.random.default_rng(seed)
    return {'stim': g.integers(0, 256, (T, H, H), dtype=np.uint8), 'robs': g.poisson(0.5, (T, N)).astype(np.float32),
            'eyepos': np.cumsum(g.normal(0, 0.01, (T, 2)), 0).astype(np.float32), 'dfs': np.ones((T, N), np.float32),
            'trial': np.repeat(np.arange(T // trial_len), trial_len).astype(np.int64), 'fps': np.float64(120.)}


def spoil(**changes):
    "A session with some keys replaced (a value of None drops the key)."
    def make():
        s = good_session()
        for k, v in changes.items():
            if v is None: s.pop(k)
            else: s[k] = v(s) if callable(v) else v
        return s
    return make


def nan_at(key, idx=(3, 1), value=np.nan):
    def f(s):
        a = s[key].copy(); a[idx] = value
        return a
    return f


def write_npz(folder, make, name='s1.npz'):
    np.savez(folder/name, **make())
    return folder/name


def write_h5_as_npz(folder):
    with h5py.File(folder/'s1.npz', 'w') as f:
        for k, v in good_session().items(): f[k] = v
    return folder/'s1.npz'


def write_truncated(folder):
    np.savez(folder/'whole.npz', **good_session())
    data = (folder/'whole.npz').read_bytes()
    (folder/'whole.npz').unlink()
    (folder/'s1.npz').write_bytes(data[:len(data) // 3])
    return folder/'s1.npz'


# session files given to `vcore train --data`: (writer of the bad file, what the message must name)
FILES = {
    'stim float with NaN': (lambda d: write_npz(d, spoil(stim=lambda s: np.full(s['stim'].shape, np.nan))), ["s1.npz", "key 'stim'", 'expected dtype uint8']),
    'robs wrong rank':     (lambda d: write_npz(d, spoil(robs=lambda s: s['robs'][:, 0])), ["s1.npz", "key 'robs'", 'expected shape (T=200, N)']),
    'robs NaN':            (lambda d: write_npz(d, spoil(robs=nan_at('robs'))), ["s1.npz", "key 'robs'", 'expected finite values']),
    'robs inf':            (lambda d: write_npz(d, spoil(robs=nan_at('robs', value=np.inf))), ["s1.npz", "key 'robs'", 'expected finite values']),
    'negative counts':     (lambda d: write_npz(d, spoil(robs=nan_at('robs', value=-2.))), ["s1.npz", "key 'robs'", 'expected counts >= 0']),
    'no neurons':          (lambda d: write_npz(d, spoil(robs=np.zeros((200, 0), np.float32), dfs=np.zeros((200, 0), np.float32))), ["s1.npz", "key 'robs'", 'at least one neuron']),
    'missing key':         (lambda d: write_npz(d, spoil(eyepos=None)), ["s1.npz", "missing key 'eyepos'"]),
    'dfs not 0/1':         (lambda d: write_npz(d, spoil(dfs=nan_at('dfs', value=0.5))), ["s1.npz", "key 'dfs'", 'values in {0, 1}']),
    'dfs NaN':             (lambda d: write_npz(d, spoil(dfs=nan_at('dfs'))), ["s1.npz", "key 'dfs'", 'expected finite values']),
    'eye lost everywhere': (lambda d: write_npz(d, spoil(eyepos=np.full((200, 2), np.nan, np.float32))), ["s1.npz", "key 'eyepos'", 'some valid samples']),
    'trial float':         (lambda d: write_npz(d, spoil(trial=lambda s: s['trial'].astype(np.float32))), ["s1.npz", "key 'trial'", 'expected dtype integer']),
    'trial not contiguous': (lambda d: write_npz(d, spoil(trial=lambda s: s['trial'][np.random.default_rng(0).permutation(200)])), ["s1.npz", "key 'trial'", 'one contiguous run']),
    'fps zero':            (lambda d: write_npz(d, spoil(fps=np.float64(0.))), ["s1.npz", "key 'fps'", 'positive number']),
    'empty session':       (lambda d: write_npz(d, spoil(**{k: (lambda k: lambda s: s[k][:0])(k) for k in ('stim', 'robs', 'eyepos', 'dfs', 'trial')})), ["s1.npz", "key 'stim'", 'at least one frame']),
    'one trial':           (lambda d: write_npz(d, spoil(trial=np.zeros(200, np.int64))), ["session 's1'", 'at least 2 trials']),
    'HDF5 named .npz':     (write_h5_as_npz, ["s1.npz", 'not a readable .npz file']),
    'truncated file':      (write_truncated, ["s1.npz", 'not a readable .npz file']),
    'no session files':    (lambda d: (d/'notes.txt').write_text('hello'), ['no session files']),
    'lags past every trial': (lambda d: write_npz(d, good_session), ["session 's1'", "key 'trial'", 'lags=8 is longer than every trial']),
}


def no_output(path):
    return not path.exists()


@pytest.mark.parametrize('case', list(FILES))
def test_bad_session_files(tmp_path, case):
    write, names = FILES[case]
    data = tmp_path/'data'; data.mkdir()
    write(data)
    sets = TINY + (['data.lags=40'] if case == 'lags past every trial' else [])   # 20-bin trials
    if case == 'lags past every trial': names = [n.replace('lags=8', 'lags=40') for n in names]
    r = vcore('train', 'v1_cnn_demo', '--data', data, '--out', tmp_path/'run', '--set', *sets)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert 'Traceback' not in r.stderr, r.stderr[-2000:]
    for n in names: assert n in r.stderr, (n, r.stderr[-2000:])
    assert no_output(tmp_path/'run'), 'a failed run left output behind'


# --set values for V1 config fields: (overrides, what the message must name)
SETS = {
    'lags zero':          (['data.lags=0'], 'data.lags: expected a finite number > 0, got 0'),
    'val_frac one':       (['data.val_frac=1'], 'data.val_frac: expected a finite number in (0, 1)'),
    'sim_neurons negative': (['data.sim_neurons=[4, -6]'], 'data.sim_neurons[1]: expected a finite number > 0'),
    'sim_neurons empty':  (['data.sim_neurons=[]'], 'data.sim_neurons: expected one neuron count per simulated session'),
    'sim_trial_len nan':  (['data.sim_trial_len=.nan'], 'data.sim_trial_len: expected a finite number > 0'),
    'sim_generator':      (['data.sim_generator=fancy'], "data.sim_generator: expected one of 'builtin', 'motion', 'alt', got 'fancy'"),
    'unknown core':       (['model.core=rnn'], "model.core: expected one of 'cnn', 'vivit', 'polar', got 'rnn'"),
    'readout_init':       (['model.readout_init=peak'], "model.readout_init: expected one of 'sta', 'uniform'"),
    'readout_l1 negative': (['model.readout_l1=-1'], 'model.readout_l1: expected a finite number >= 0'),
    'mu_range':           (['model.readout_mu_range=2'], 'model.readout_mu_range: expected a finite number in [0, 1]'),
    'link':               (['model.link=relu'], "model.link: expected one of 'softplus', 'exp'"),
    'n_neurons zero':     (['model.n_neurons={sim0: 0}'], 'model.n_neurons.sim0: expected a positive integer'),
    'n_neurons disagree': (['model.n_neurons={sim0: 4}'], "model.n_neurons: the config says {'sim0': 4} but the data hold"),
    'frame_size rank':    (['model.frame_size=[51]'], 'model.frame_size: expected [H, W] or []'),
    'core_args bad int':  (["model.core_args={hidden: 0, layers: 1, kernel: [3, 5, 5]}"], 'model.core_args (cnn core): hidden: expected a positive integer, got 0'),
    'core_args unknown':  (["model.core_args={hiden: 4}"], "model.core_args (cnn core): CNNCore.__init__() got an unexpected keyword argument 'hiden'"),
    'core_args norm':     (["model.core_args={hidden: 4, layers: 1, kernel: [3, 5, 5], norm_layer: groupnorm}"], "norm_layer: expected a class or one of 'batchnorm3d', 'framegroupnorm'"),
    'core_args even kernel': (["model.core_args={hidden: 4, layers: 1, kernel: [3, 4, 5]}"], 'kernel: expected odd kh and kw'),
    'polar modulator':    (['model.core=polar', 'model.core_args={levels: 2, pairs: 4, kernel_size: 7}', 'model.modulator=true'], 'model.modulator: the polar core has no feature video'),
    'lags past trials':   (['data.lags=100'], "session 'sim0': key 'trial': lags=100 is longer than every trial (longest trial: 60 bins)"),
}


@pytest.mark.parametrize('case', list(SETS))
def test_bad_set_values(tmp_path, case):
    sets, msg = SETS[case]
    r = vcore('train', 'v1_cnn_demo', '--out', tmp_path/'run', '--set', *TINY, *sets)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert msg in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert no_output(tmp_path/'run'), 'a failed run left output behind'


@pytest.fixture(scope='module')
def v1_run(tmp_path_factory):
    "A tiny V1 run on the built-in population (sessions sim0: 4 neurons, sim1: 6; 51 x 51 frames)."
    d = tmp_path_factory.mktemp('v1run')
    r = vcore('train', 'v1_cnn_demo', '--out', d/'run', '--set', *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    return d/'run'/'best.pt'


def sim_session(N=4, seed=5):
    from vcore.neuro.simulate import simulate_session
    return simulate_session(N, n_trials=2, trial_len=0.5, seed=seed)


def held(folder, name, session):
    from vcore.neuro.data import save_session
    save_session(folder/f'{name}.npz', session)


# held-out folders given to `vcore eval --data`: (writer, what the message must name)
EVAL = {
    'unknown session': (lambda d: held(d, 'mouse7', sim_session()), ["session 'mouse7' matches no readout", 'sim0, sim1']),
    'neuron count':    (lambda d: held(d, 'sim0', sim_session(N=6)), ["session 'sim0'", "key 'robs'", 'expected N=4 neurons']),
    'frame size':      (lambda d: held(d, 'sim1', {**sim_session(N=6), 'stim': sim_session(N=6)['stim'][:, 5:]}), ["session 'sim1'", "key 'stim'", 'expected frames of [51, 51]', 'got [46, 51]']),
    'bad file':        (lambda d: np.savez(d/'sim0.npz', **{**good_session(), 'robs': -np.ones((200, 4), np.float32)}), ['sim0.npz', "key 'robs'", 'counts >= 0']),
    'missing folder':  (lambda d: shutil.rmtree(d), ['does not exist']),
}


@pytest.mark.parametrize('case', list(EVAL))
def test_bad_eval_data(tmp_path, v1_run, case):
    write, names = EVAL[case]
    data = tmp_path/'held'; data.mkdir()
    write(data)
    r = vcore('eval', v1_run, '--data', data, '--out', tmp_path/'m.json')
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert 'Traceback' not in r.stderr, r.stderr[-2000:]
    for n in names: assert n in r.stderr, (n, r.stderr[-2000:])
    assert sorted(p.name for p in tmp_path.iterdir()) == (['held'] if data.exists() else []), 'eval left output behind'


@pytest.fixture(scope='module')
def toy_run(tmp_path_factory):
    "A two-step toy run: a checkpoint of another system."
    d = tmp_path_factory.mktemp('toyrun')
    r = vcore('train', 'toy_demo', '--out', d/'toy', '--set', 'data.n_train=32', 'data.n_val=16', 'train.steps=2',
              'train.eval_every=2', 'train.batch_size=8', 'train.device=cpu')
    assert r.returncode == 0, r.stderr[-2000:]
    return d/'toy'/'best.pt'


def test_other_systems_checkpoint(v1_run, toy_run):
    "A toy checkpoint where a V1 one is expected: load_model names both systems."
    from vcore.train import load_model
    with pytest.raises(ValueError, match=r"is a 'toy' run; expected a 'v1' checkpoint"):
        load_model(toy_run, system='v1')
    assert load_model(v1_run, system='v1')[2].name == 'v1'


def test_v1_sessions_given_to_a_toy_checkpoint(tmp_path, toy_run):
    "`vcore eval toy.pt --data <V1 session folder>` refuses by name and writes nothing."
    data = tmp_path/'sessions'; data.mkdir(); held(data, 'sim0', sim_session())
    r = vcore('eval', toy_run, '--data', data, '--out', tmp_path/'m.json')
    assert not (tmp_path/'m.json').exists()
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert "'toy'" in r.stderr or str(data) in r.stderr, r.stderr[-2000:]   # names the system or the data it cannot read


def test_unresolved_config_is_refused():
    "build_model reads no data: a config without the neurons per session is refused, by key."
    from vcore.core import load_config
    from vcore.neuro.model import build_model
    with pytest.raises(ValueError, match=r'model.n_neurons: empty'):
        build_model(load_config('v1_cnn_demo'))
