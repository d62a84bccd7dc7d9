"""Bad inputs to the action system through `vcore train/eval/features`, in-process (`vcore.cli.main` via `vcore_main`).

Each case asserts exit status 2, a one-line message naming the offending file, key or value, and no traceback (one
escapes and fails the test). The module's checkpoint is trained on a tiny SSv2-layout release of real webm files;
`eval` then needs only the checkpoint and `--data`."""
import json, shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import vcore_main
from vcore.trajectory.data import write_video

TEMPLATES = ['Moving something from left to right', 'Moving something from right to left', 'Moving something up', 'Moving something down']
TINY = """system: action
data: {num_segments: 4, size: 32, cache: %(cache)s, val_frac: 0.34}
model: {bottleneck_dim: 16, num_heads: 4, embed_dim: 16, fusion_depth: 1}
train: {steps: 2, batch_size: 4, lr: 1.0e-3, warmup_steps: 1, eval_every: 2, log_every: 1, device: cpu, monitor: val/top1, monitor_mode: max}
"""


def release(root: Path, n_train: int=3, n_val: int=2, frames: int=10, side: int=32, templates=TEMPLATES) -> Path:
    "An SSv2-layout folder of bright squares moving in four directions over noise."
    rng = np.random.default_rng(0)
    (root/'videos').mkdir(parents=True, exist_ok=True)
    (root/'labels.json').write_text(json.dumps({t: str(i) for i, t in enumerate(templates)}))
    k = 0
    for split, n in (('train', n_train), ('validation', n_val)):
        entries = []
        for i in range(n * len(templates)):
            c, v = i % len(templates), rng.integers(0, 60, (frames, side, side, 3), dtype=np.uint8)
            for f in range(frames):
                p = 2 + (side - 12) * f // (frames - 1)
                x, y = [(p, 8), (side - 10 - p, 8), (8, side - 10 - p), (8, p)][c]
                v[f, y:y + 8, x:x + 8] = 230
            write_video(root/'videos'/f'{k}.webm', v, fps=12)
            entries.append({'id': str(k), 'label': 'a square', 'template': templates[c], 'placeholders': ['a square']}); k += 1
        (root/f'{split}.json').write_text(json.dumps(entries))
    return root


@pytest.fixture(scope='module')
def action(tmp_path_factory):
    "A trained action checkpoint, its release, a copy of the release for spoiling, a toy checkpoint."
    d = tmp_path_factory.mktemp('action-bad')
    release(d/'data')
    (d/'tiny.yaml').write_text(TINY % {'cache': str(d/'cache')})
    r = vcore_main('train', d/'tiny.yaml', '--data', d/'data', '--out', d/'run')
    assert r.returncode == 0, r.stderr
    r = vcore_main('train', 'toy_demo', '--out', d/'toy', '--set', 'train.steps=2', 'train.eval_every=2', 'train.device=cpu')
    assert r.returncode == 0, r.stderr
    return d


def fails(r, *words):
    "Exit status 2 with a message containing every one of `words`."
    assert r.returncode == 2, (r.returncode, r.stderr)
    for w in words: assert w in r.stderr, (w, r.stderr)


def spoiled(action, tmp_path) -> Path:
    "A fresh copy of the module's release to spoil."
    return Path(shutil.copytree(action/'data', tmp_path/'data'))


def test_eval_writes_the_keys(action, tmp_path):
    r = vcore_main('eval', action/'run/best.pt', '--data', action/'data', '--out', tmp_path/'m.json')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'m.json').read_text())
    assert {'top1', 'top5', 'per_class_accuracy', 'ece', 'confusion', 'n_skipped'} <= set(m)
    assert sum(map(sum, m['confusion'])) == 8 and m['n_skipped'] == 0


def test_eval_counts_a_corrupt_video(action, tmp_path):
    "A broken validation video is skipped, counted and named in the log; the rest is scored."
    d = spoiled(action, tmp_path)
    entries = json.loads((d/'validation.json').read_text())
    (d/'validation.json').write_text(json.dumps(entries + [{**entries[0], 'id': 'broken-99'}]))
    (d/'videos'/'broken-99.webm').write_bytes(b'not a video at all')
    r = vcore_main('eval', action/'run/best.pt', '--data', d, '--out', tmp_path/'m.json')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'m.json').read_text())
    assert m['n_skipped'] == 1 and sum(map(sum, m['confusion'])) == 8


def test_eval_data_of_the_wrong_layout(action, tmp_path):
    "A folder without labels.json / validation.json, and a file, are refused with what was expected."
    (tmp_path/'empty').mkdir()
    fails(vcore_main('eval', action/'run/best.pt', '--data', tmp_path/'empty'), 'SSv2-layout folder', 'validation.json')
    (tmp_path/'clips.npz').write_bytes(b'')
    fails(vcore_main('eval', action/'run/best.pt', '--data', tmp_path/'clips.npz'), 'SSv2-layout folder')


def test_eval_data_with_other_classes(action, tmp_path):
    d = spoiled(action, tmp_path)
    (d/'labels.json').write_text(json.dumps({t: str(i) for i, t in enumerate(TEMPLATES[::-1])}))
    fails(vcore_main('eval', action/'run/best.pt', '--data', d), 'labels.json', "checkpoint's 4 templates", 'another order')


def test_eval_unknown_template(action, tmp_path):
    d = spoiled(action, tmp_path)
    entries = json.loads((d/'validation.json').read_text())
    entries[0]['template'] = 'Juggling [something]'
    (d/'validation.json').write_text(json.dumps(entries))
    fails(vcore_main('eval', action/'run/best.pt', '--data', d), 'Juggling', 'labels.json')


def test_eval_missing_video(action, tmp_path):
    d = spoiled(action, tmp_path)
    (d/'videos'/'13.webm').unlink()
    fails(vcore_main('eval', action/'run/best.pt', '--data', d), '13.webm')


def test_checkpoint_of_another_system(action, tmp_path):
    "The action model refuses a toy checkpoint; `vcore eval` of it with an action folder says what the toy expected."
    from vcore.train import load_model
    with pytest.raises(ValueError, match="is a 'toy' run; expected a 'action' checkpoint"): load_model(action/'toy/best.pt', system='action')
    fails(vcore_main('eval', action/'toy/best.pt', '--data', action/'data'), 'toy data file', str(action/'data'))


@pytest.mark.parametrize('setting, words', [
    ('model.fusion=sum', ['model.fusion', "'bcast'", "'sum'"]),
    ('model.streams=audio', ['model.streams', "'audio'"]),
    ('data.num_segments=0', ['data.num_segments', '> 0']),
    ('data.extractors.semantic.kind=clip', ['spec.semantic.kind', "'clip'"]),
    ('data.extractors.motion={kind: r3d_18, path: /nonexistent/r3d.pth}', ['spec.motion.path', '/nonexistent/r3d.pth']),
    ('data.extractors.motion.path=/nonexistent/r3d.pth', ['spec.motion.kind']),
])
def test_train_bad_settings(action, tmp_path, setting, words):
    fails(vcore_main('train', action/'tiny.yaml', '--data', action/'data', '--out', tmp_path/'run', '--set', setting), *words)
    assert not (tmp_path/'run'/'last.pt').exists()


def test_train_data_without_labels(action, tmp_path):
    d = spoiled(action, tmp_path)
    (d/'labels.json').unlink()
    fails(vcore_main('train', action/'tiny.yaml', '--data', d, '--out', tmp_path/'run'), 'labels.json')


def test_features_bad_spec(action, tmp_path):
    fails(vcore_main('features', action/'tiny.yaml', '--data', action/'data', '--set', 'data.extractors.motion.kind=c3d'),
          'spec.motion.kind', "'c3d'")
