"""Bad inputs to the trajectory system through `vcore train/eval/explain`, table-driven, in-process (`vcore.cli.main`).

Each case asserts: exit status 2, a message naming the offending key and file (or config key and value), no
traceback, and nothing left in `--out`. The module's checkpoint is trained on a file that is deleted before any
case runs, so every eval and explain here also shows that a checkpoint stands alone with only `--data`."""
import json, shutil

import numpy as np
import pytest

from conftest import vcore_status as run   # in-process: (exit status, stderr)
from vcore.trajectory.data import SceneStyle, make_dataset, render_video, save_trajectories

TINY = """system: trajectory
data: {horizon: 2, n: 16, frames: 8, size: 32}
model: {widths: [4, 8, 8], depths: [1, 1, 1], temporal_stride: [1, 1, 2], levels: [5, 5, 5], vq_hidden: 16, dim: 24, depth: 1,
        num_heads: 2, num_keypoints: 3, heads: [track, keypoints, path_shape]}
train: {steps: 2, batch_size: 4, lr: 1.0e-3, warmup_steps: 1, eval_every: 2, log_every: 1, device: cpu, monitor: val/accuracy, monitor_mode: max}
"""
SMALL = ['data.n=16', 'data.frames=6', 'data.size=16', 'data.horizon=2', 'train.steps=2', 'train.batch_size=4',
         'train.eval_every=2', 'train.device=cpu', 'model.widths=[4, 8, 8]', 'model.dim=24', 'model.num_heads=2']


@pytest.fixture(scope='module')
def traj(tmp_path_factory):
    "A trajectory checkpoint whose training file is gone, a held-out file of the same clip length, a toy checkpoint."
    d = tmp_path_factory.mktemp('traj-bad')
    save_trajectories(d/'train.npz', make_dataset(n=16, frames=7, size=32, seed=3))   # data.frames=8 in TINY: resolve sets 7
    save_trajectories(d/'held.npz', make_dataset(n=8, frames=7, size=32, seed=4))
    (d/'tiny.yaml').write_text(TINY)
    assert run('train', d/'tiny.yaml', '--data', d/'train.npz', '--out', d/'run')[0] == 0
    (d/'train.npz').unlink()                                                         # the checkpoint must not need it
    assert run('train', 'toy_demo', '--out', d/'toy', '--set', 'train.steps=2', 'train.eval_every=2', 'train.device=cpu')[0] == 0
    return d


def test_checkpoint_stands_alone(traj, tmp_path):
    "Eval and explain with only the checkpoint and --data; the clip length came from the (deleted) training file."
    assert run('eval', traj/'run/best.pt', '--data', traj/'held.npz', '--out', tmp_path/'m.json')[0] == 0
    m = json.loads((tmp_path/'m.json').read_text())
    assert sum(map(sum, m['confusion'])) == 8 and {'accuracy', 'accuracy_clip', 'forecast_mae'} <= set(m)
    assert run('explain', traj/'run/best.pt', '--data', traj/'held.npz', '--out', tmp_path/'eq.jsonl')[0] == 0
    assert len((tmp_path/'eq.jsonl').read_text().splitlines()) == 8


def spoil(change):
    "The held-out arrays with `change` applied (a dict update, or a function of the dict)."
    def make(d):
        if callable(change): change(d)
        else: d.update(change)
        return d
    return make


NPZ_CASES = {  # name: (how the file is made from the good arrays, the key or phrase the message must name)
    'videos float32': (spoil(lambda d: d.update(videos=d['videos'].astype(np.float32))), "key 'videos': expected dtype uint8, got float32"),
    'videos wrong rank': (spoil(lambda d: d.update(videos=d['videos'][..., 0])), "key 'videos': expected shape (N, T, H, W, 3)"),
    'positions NaN': (spoil(lambda d: d['positions'].__setitem__((2, 3, 0), np.nan)), "key 'positions': expected finite values, got nan at index (2, 3, 0)"),
    'positions inf': (spoil(lambda d: d['positions'].__setitem__((1, 0, 2), np.inf)), "key 'positions': expected finite values, got inf"),
    'positions behind the camera': (spoil(lambda d: d['positions'].__setitem__((0, 0, 2), -1.)), "key 'positions': expected depth z > 0"),
    'positions wrong T': (spoil(lambda d: d.update(positions=d['positions'][:, 1:])), "key 'positions': expected shape (N=8, T=7, 3)"),
    'labels out of range': (spoil(lambda d: d['labels'].__setitem__(5, 4)), "key 'labels': expected values in 0..3, got 4 at clip 5"),
    'labels negative': (spoil(lambda d: d['labels'].__setitem__(0, -1)), "key 'labels': expected values in 0..3, got -1 at clip 0"),
    'labels float': (spoil(lambda d: d.update(labels=d['labels'].astype(np.float32))), "key 'labels': expected dtype integer"),
    'class names reordered': (spoil(lambda d: d.update(class_names=np.array(d['class_names'][::-1]))), "key 'class_names': expected ['linear'"),
    'fps zero': (spoil({'fps': 0.}), "key 'fps': expected a finite number > 0, got 0.0"),
    'extent NaN': (spoil({'extent': np.nan}), "key 'extent': expected finite values"),
    'missing positions': (spoil(lambda d: d.pop('positions')), "missing key 'positions'; a trajectory file holds"),
    'no clips': (spoil(lambda d: d.update(videos=d['videos'][:0], labels=d['labels'][:0], positions=d['positions'][:0])),
                 "key 'videos': expected at least one clip of one frame, got N=0"),
    'another clip length': (lambda d: make_dataset(n=4, frames=9, size=32, seed=5), "key 'videos': expected clips of T=7 frames"),
    'too few frames for the horizon': (lambda d: make_dataset(n=4, frames=2, size=32, seed=5), 'too few frames for the forecast horizon'),
}


@pytest.mark.parametrize('case', list(NPZ_CASES))
@pytest.mark.parametrize('command', ['eval', 'explain'])
def test_bad_trajectory_files(traj, tmp_path, case, command):
    from vcore.trajectory.data import load_trajectories
    make, msg = NPZ_CASES[case]
    d = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in load_trajectories(traj/'held.npz').items()}
    d['class_names'] = np.array(d['class_names'])
    bad = tmp_path/f"{case.replace(' ', '_')}.npz"
    np.savez(bad, **make(d))                                                           # written without checks
    out = tmp_path/'out'/('m.json' if command == 'eval' else 'eq.jsonl')
    code, err = run(command, traj/'run/best.pt', '--data', bad, '--out', out)
    assert code == 2 and msg in err and str(bad) in err, err
    assert 'Traceback' not in err and not (tmp_path/'out').exists()


RAW_CASES = {  # files that are not .npz archives at all
    'truncated': (lambda p, good: p.write_bytes(good.read_bytes()[:2000]), 'not a readable .npz file'),
    'not a zip': (lambda p, good: p.write_text('videos,labels\n1,2\n'), 'not a readable .npz file'),
    'object array (pickle)': (lambda p, good: np.savez(p, videos=np.array([{'a': 1}], dtype=object)), 'not a readable .npz file'),
    'a folder': (lambda p, good: p.mkdir(), 'is a folder; expected a trajectory .npz file'),
}


@pytest.mark.parametrize('case', list(RAW_CASES))
def test_unreadable_trajectory_files(traj, tmp_path, case):
    make, msg = RAW_CASES[case]
    bad = tmp_path/'clips.npz'
    make(bad, traj/'held.npz')
    for command, name in (('eval', 'm.json'), ('explain', 'eq.jsonl')):
        code, err = run(command, traj/'run/best.pt', '--data', bad, '--out', tmp_path/'out'/name)
        assert code == 2 and msg in err and str(bad) in err, (command, err)
        assert not (tmp_path/'out').exists()


def test_wrong_suffix(traj, tmp_path):
    shutil.copy(traj/'held.npz', tmp_path/'clips.npy')
    code, err = run('eval', traj/'run/best.pt', '--data', tmp_path/'clips.npy', '--out', tmp_path/'out'/'m.json')
    assert code == 2 and 'clips.npy: expected a trajectory file ending in .npz' in err, err
    assert not (tmp_path/'out').exists()


SET_CASES = {  # --set values (space-separated overrides) for the trajectory sections: refused when the config is read, or before any output
    'unknown head': ('model.heads=[track,vit]', "model.heads[1]: expected one of 'track', 'keypoints', 'path_shape', got 'vit'"),
    'head twice': ('model.heads=[track,track]', "model.heads[1]: 'track' is listed twice"),
    'unknown encoder': ('model.encoder=resnet', "model.encoder: expected one of 'i3d', 'random_i3d', 'cnn3d', got 'resnet'"),
    'unknown tokenizer': ('model.tokenizer=vq', "model.tokenizer: expected one of 'fsq', 'lfq', 'none', got 'vq'"),
    'width 0': ('model.widths=[16,0,64]', 'model.widths[1]: expected a finite number > 0, got 0'),
    'dim negative': ('model.dim=-8', 'model.dim: expected a finite number > 0, got -8'),
    'num_heads 0': ('model.num_heads=0', 'model.num_heads: expected a finite number > 0, got 0'),
    'drop_path 1': ('model.drop_path=1.0', 'model.drop_path: expected a finite number in [0, 1), got 1.0'),
    'track_weight negative': ('model.track_weight=-1', 'model.track_weight: expected a finite number >= 0, got -1'),
    'pos_scale 0': ('model.pos_scale=0', 'model.pos_scale: expected a finite number > 0, got 0'),
    'pos_center of 2': ('model.pos_center=[0,5]', 'model.pos_center: expected 3 finite numbers (x, y, z), got [0.0, 5.0]'),
    'val_frac 1': ('data.val_frac=1', 'data.val_frac: expected a finite number in (0, 1), got 1'),
    'horizon 0': ('data.horizon=0', 'data.horizon: expected a finite number > 0, got 0'),
    'n 0': ('data.n=0', 'data.n: expected a finite number > 0, got 0'),
    'augment unknown': ("data.augment=[mirror,rotate]", "data.augment[1]: expected one of 'reverse', 'mirror', got 'rotate'"),
    'generator unknown': ('data.generator=blender', "data.generator: expected one of 'builtin', 'alt', 'alt2', got 'blender'"),
    'generator a number': ('data.generator=2', 'data.generator: expected str, got int 2'),
    'horizon as long as the clip': ('data.horizon=6', 'too few frames for the forecast horizon: T=6 frames, horizon=6'),
    'FSQ level 1': ('model.levels=[1,5]', 'levels[0]: expected an integer >= 2, got 1'),
    'inflate into the plain CNN': ('model.encoder=cnn3d model.inflate_from=r18.pt', 'model.inflate_from: the cnn3d encoder has no I3D to inflate into'),
    'inflate from a missing file': ('model.inflate_from=/nonexistent/r18.pt', '/nonexistent/r18.pt: no such file'),
    'head width not a multiple of 6': ('model.dim=20', 'model.dim, model.num_heads: expected dim / num_heads a whole number and a multiple of 6 (3-axis rotary positions), got dim=20, num_heads=2'),
    'heads do not divide the width': ('model.temporal=mean model.dim=25', 'model.dim, model.num_heads: expected dim / num_heads a whole number, got dim=25, num_heads=2'),
}


@pytest.mark.parametrize('case', list(SET_CASES))
def test_train_refuses_trajectory_values(tmp_path, case):
    override, msg = SET_CASES[case]
    code, err = run('train', 'trajectory_demo', '--out', tmp_path/'out', '--set', *SMALL, *override.split(' '))
    assert code == 2 and msg in err, err
    assert 'Traceback' not in err and not (tmp_path/'out').exists()


def test_train_refuses_a_bad_data_file(tmp_path):
    d = make_dataset(n=16, frames=6, size=16, seed=0)
    d['labels'][3] = 9
    np.savez(tmp_path/'bad.npz', **{k: np.asarray(v) for k, v in d.items()})
    code, err = run('train', 'trajectory_demo', '--data', tmp_path/'bad.npz', '--out', tmp_path/'out', '--set', *SMALL)
    assert code == 2 and f"{tmp_path/'bad.npz'}: key 'labels': expected values in 0..3, got 9 at clip 3" in err, err
    assert not (tmp_path/'out').exists()


EXPLAIN_CASES = {
    'no --data': (lambda t, r: ['explain', r/'run/best.pt', '--out', t/'out'/'eq.jsonl'], '--data and --out are required'),
    'no --out': (lambda t, r: ['explain', r/'run/best.pt', '--data', r/'held.npz'], '--data and --out are required'),
    'missing --data file': (lambda t, r: ['explain', r/'run/best.pt', '--data', t/'none.npz', '--out', t/'out'/'eq.jsonl'], 'none.npz'),
    '--out is a folder': (lambda t, r: ['explain', r/'run/best.pt', '--data', r/'held.npz', '--out', t], 'is a folder'),
    'a toy checkpoint': (lambda t, r: ['explain', r/'toy/best.pt', '--data', r/'held.npz', '--out', t/'out'/'eq.jsonl'], "system 'toy' has no explain step"),
    'a toy checkpoint on trajectory clips': (lambda t, r: ['eval', r/'toy/best.pt', '--data', r/'held.npz', '--out', t/'out'/'m.json'], 'held.npz'),
    'a trajectory file as checkpoint': (lambda t, r: ['explain', r/'held.npz', '--data', r/'held.npz', '--out', t/'out'/'eq.jsonl'], 'held.npz'),
    'timeout 0 for the LLM': (lambda t, r: ['explain', r/'run/best.pt', '--data', r/'held.npz', '--out', t/'out'/'eq.jsonl', '--llm', '--timeout', 0],
                              'timeout: expected seconds > 0'),
}


@pytest.mark.parametrize('case', list(EXPLAIN_CASES))
def test_explain_and_eval_errors(traj, tmp_path, case):
    args, msg = EXPLAIN_CASES[case]
    code, err = run(*args(tmp_path, traj))
    assert code == 2 and msg in err, err
    assert 'Traceback' not in err and not (tmp_path/'out').exists()


GENERATOR_CASES = {  # make_dataset / SceneStyle options: the error names the option
    'generator unknown': (lambda: make_dataset(n=4, generator='pov'), "generator: expected one of 'builtin', 'alt', 'alt2' or a SceneStyle, got 'pov'"),
    'generator not a name': (lambda: make_dataset(n=4, generator=3), "generator: expected one of 'builtin', 'alt', 'alt2' or a SceneStyle, got 3"),
    'radius with another generator': (lambda: make_dataset(n=4, generator='alt2', radius=0.4), "radius, background, noise: set by the generator 'alt2'"),
    'focal 0': (lambda: SceneStyle(focal=0), 'focal: expected a finite number > 0, got 0'),
    'focal inf': (lambda: SceneStyle(focal=float('inf')), 'focal: expected a finite number > 0, got inf'),
    'radius reversed': (lambda: SceneStyle(radius=(0.5, 0.2)), 'radius: expected (lo, hi) with 0 < lo <= hi, got (0.5, 0.2)'),
    'radius negative': (lambda: SceneStyle(radius=(-0.1, 0.2)), 'radius: expected (lo, hi) with 0 < lo <= hi'),
    'radius too large for the box': (lambda: make_dataset(n=4, generator=SceneStyle(radius=(1.5, 2.5))), 'radius: expected less than extent/2 = 2.0'),
    'shading unknown': (lambda: SceneStyle(shading='toon'), "shading: expected one of 'lambert', 'phong', 'flat', got 'toon'"),
    'light zero': (lambda: SceneStyle(light=(0, 0, 0)), 'light: expected 3 finite numbers, not all 0'),
    'light of two': (lambda: SceneStyle(light=(1, 0)), 'light: expected 3 finite numbers'),
    'backgrounds unknown': (lambda: SceneStyle(backgrounds=('plain', 'sky')), "backgrounds: expected a non-empty list of 'plain', 'textured', 'gradient', 'clutter', got ('plain', 'sky')"),
    'backgrounds empty': (lambda: SceneStyle(backgrounds=()), 'backgrounds: expected a non-empty list'),
    'noise 1': (lambda: SceneStyle(noise=1.0), 'noise: expected a fraction in [0, 1), got 1.0'),
    'blur negative': (lambda: SceneStyle(blur=-0.5), 'blur: expected a finite number >= 0, got -0.5'),
    'render shading unknown': (lambda: render_video([[0, 0, 3.]], np.random.default_rng(0), shading='gouraud'), "shading: expected one of 'lambert', 'phong', 'flat'"),
    'render background unknown': (lambda: render_video([[0, 0, 3.]], np.random.default_rng(0), background='sky'), "background: expected one of 'plain', 'textured', 'gradient', 'clutter'"),
}


@pytest.mark.parametrize('case', list(GENERATOR_CASES))
def test_bad_generator_options(case):
    make, msg = GENERATOR_CASES[case]
    with pytest.raises(ValueError) as e: make()
    assert msg in str(e.value), str(e.value)
