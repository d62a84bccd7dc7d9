"""Bad inputs to the multi-view system through `vcore train/eval/predict`, in-process (`conftest.vcore_main`).

Each case asserts exit status 2 and a one-line message naming the offending file, row or system (no traceback),
or, where evaluation counts a photo as skipped, exit 0 and the count. The module's checkpoint is trained on a
tiny labels.csv folder of PNGs."""
import json

import numpy as np
import pytest
from PIL import Image

from conftest import vcore_main

TINY = """system: multiview
data: {image_size: 96, view_size: 32, clusters: 2}
model: {dim: 32, depth: 1, num_heads: 4, mask_grid: 0}
train: {steps: 2, batch_size: 4, warmup_steps: 0, eval_every: 2, log_every: 1, device: cpu, monitor: val/mcc, monitor_mode: max}
"""
HEADER = 'image,label,gps_lat,gps_lon,timestamp,weather,camera,source'


def photos(root, n=16, seed=0):
    "A tiny labels.csv folder of 96 x 72 PNGs, an orange triangle on the positives, metadata on some rows."
    rng = np.random.default_rng(seed)
    (root/'img').mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    for i in range(n):
        a = np.full((72, 96, 3), 110, np.uint8) + rng.integers(0, 30, (72, 96, 1), dtype=np.uint8)
        if i % 2: a[40:48, 30:38] = (255, 120, 0)
        Image.fromarray(a).save(root/f'img/{i}.png')
        lines.append(f'img/{i}.png,{i % 2},' + ('52.5,13.4,2024-05-01T10:00:00,rain,cam0,real' if i % 3 else ',,,,,'))
    (root/'labels.csv').write_text('\n'.join(lines) + '\n')
    return root


@pytest.fixture(scope='module')
def mv(tmp_path_factory):
    "A multi-view checkpoint, its training folder, and a toy checkpoint (another system)."
    d = tmp_path_factory.mktemp('mv-bad')
    photos(d/'data')
    (d/'tiny.yaml').write_text(TINY)
    r = vcore_main('train', d/'tiny.yaml', '--data', d/'data', '--out', d/'run')
    assert r.returncode == 0, r.stderr
    r = vcore_main('train', 'toy_demo', '--out', d/'toy', '--set', 'train.steps=2', 'train.eval_every=2', 'train.device=cpu')
    assert r.returncode == 0, r.stderr
    return d


def fails(r, *words):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    for w in words: assert str(w) in r.stderr, (w, r.stderr)


def test_predict_prints_one_probability_per_image(mv):
    imgs = [mv/'data/img/0.png', mv/'data/img/1.png']
    r = vcore_main('predict', mv/'run/best.pt', *imgs)
    assert r.returncode == 0, r.stderr
    lines = [l.split('\t') for l in r.stdout.splitlines()]
    assert [l[1] for l in lines] == [str(p) for p in imgs] and all(0 <= float(l[0]) <= 1 for l in lines)
    r = vcore_main('predict', mv/'run/best.pt', *imgs, '--json', '--csv', mv/'data/labels.csv')
    res = json.loads(r.stdout)
    assert r.returncode == 0 and [x['image'] for x in res] == [str(p) for p in imgs]


def test_predict_with_another_systems_checkpoint(mv):
    fails(vcore_main('predict', mv/'toy/best.pt', mv/'data/img/0.png'), "'toy'", 'predict')


def test_eval_with_another_systems_checkpoint(mv):
    "The toy system reads the folder as its own data and says what it expected."
    fails(vcore_main('eval', mv/'toy/best.pt', '--data', mv/'data'), 'toy data file', mv/'data')


def test_predict_missing_image(mv):
    fails(vcore_main('predict', mv/'run/best.pt', mv/'data/img/0.png', mv/'nowhere.jpg'), 'nowhere.jpg')


@pytest.mark.parametrize('name,content', [('corrupt.jpg', b'\xff\xd8\xff\xe0 not really a jpeg'), ('empty.png', b''),
                                          ('truncated.png', None)])
def test_predict_unreadable_image(mv, tmp_path, name, content):
    p = tmp_path/name
    if content is None:
        good = (mv/'data/img/0.png').read_bytes()
        p.write_bytes(good[:len(good) // 2])
    else: p.write_bytes(content)
    fails(vcore_main('predict', mv/'run/best.pt', p), name)


@pytest.mark.parametrize('mode', ['L', 'I;16', 'CMYK', 'RGBA', 'P'])
def test_predict_any_image_mode(mv, tmp_path, mode):
    im = Image.open(mv/'data/img/1.png')
    im = Image.fromarray(np.asarray(im.convert('L')).astype(np.uint16) * 257) if mode == 'I;16' else im.convert(mode)
    p = tmp_path/f'x.{"jpg" if mode == "CMYK" else "png"}'
    im.save(p)
    r = vcore_main('predict', mv/'run/best.pt', p)
    assert r.returncode == 0 and 0 <= float(r.stdout.split('\t')[0]) <= 1, r.stderr


@pytest.mark.parametrize('row,words', [
    ('img/0.png,0,95.0,13.4,,,,', ['line 2', 'gps_lat']),
    ('img/0.png,0,nan,13.4,,,,', ['line 2', 'gps_lat']),
    ('img/0.png,0,52.5,,,,,', ['line 2', 'gps_lon']),
    ('img/0.png,0,,,yesterday,,,', ['line 2', 'timestamp']),
    ('img/0.png,0,,,,tornado,,', ['line 2', 'weather']),
    ('img/0.png,maybe,,,,,,', ['line 2', 'label']),
    ('img/0.png,0,,,,,,,extra', ['line 2', 'cells']),
])
def test_predict_csv_with_bad_rows(mv, tmp_path, row, words):
    csv = tmp_path/'meta.csv'
    csv.write_text(f'{HEADER}\n{row}\n')
    fails(vcore_main('predict', mv/'run/best.pt', mv/'data/img/0.png', '--csv', csv), csv.name, *words)


def test_predict_csv_without_image_column_or_missing(mv, tmp_path):
    csv = tmp_path/'meta.csv'
    csv.write_text('photo,weather\nimg/0.png,rain\n')
    fails(vcore_main('predict', mv/'run/best.pt', mv/'data/img/0.png', '--csv', csv), 'image')
    fails(vcore_main('predict', mv/'run/best.pt', mv/'data/img/0.png', '--csv', tmp_path/'none.csv'), 'none.csv')


def test_eval_counts_unreadable_photos(mv, tmp_path):
    held = photos(tmp_path/'held', n=8, seed=1)
    (held/'img/3.png').write_bytes(b'broken')
    (held/'img/5.png').unlink()
    r = vcore_main('eval', mv/'run/best.pt', '--data', held, '--out', tmp_path/'m.json')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'m.json').read_text())
    assert m['n_skipped'] == 2 and {'mcc', 'accuracy', 'auroc', 'reward', 'mcc_by_source'} <= set(m)


def test_eval_csv_with_a_bad_label(mv, tmp_path):
    held = photos(tmp_path/'held', n=4, seed=2)
    text = (held/'labels.csv').read_text().splitlines()
    text[3] = text[3].replace('img/2.png,0', 'img/2.png,2')
    (held/'labels.csv').write_text('\n'.join(text) + '\n')
    fails(vcore_main('eval', mv/'run/best.pt', '--data', held), 'line 4', 'label')


def test_train_on_an_unreadable_photo_names_the_row(mv, tmp_path):
    d = photos(tmp_path/'data', n=16, seed=3)
    (d/'img/4.png').write_bytes(b'broken')
    fails(vcore_main('train', mv/'tiny.yaml', '--data', d, '--out', tmp_path/'run', '--set', 'data.sampler=uniform',
                     'data.val_frac=0.5'), '4.png')
    assert not (tmp_path/'run').exists()


def test_train_on_a_missing_folder(mv, tmp_path):
    fails(vcore_main('train', mv/'tiny.yaml', '--data', tmp_path/'nope', '--out', tmp_path/'run'), 'nope')
