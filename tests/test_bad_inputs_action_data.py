"""Bad inputs to the action system's data side (`vcore.action.data`, `vcore.action.synth`), table-driven and fast.

A broken clip (empty, undecodable, wrong container, no video stream, too short) is a `VideoError` naming the file
and what was expected when decoded directly, and a counted, named skip inside `SSv2Videos`; a broken data folder
(labels, split files, a missing video) is an error naming the file and the entry; a bad generator option is an
error naming the option, and nothing is written."""
import json, logging, shutil

import numpy as np
import pytest
import torch

from vcore.action.data import SSv2Videos, VideoError, collate_videos, decode_video, read_classes, read_split
from vcore.action.synth import _write_webm, builtin_ssv2, make_ssv2


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    "A tiny SSv2-layout folder (built-in generator, 12 train and 4 validation clips of 10-12 frames at 32 px)."
    return make_ssv2(tmp_path_factory.mktemp('ssv2'), 12, 4, size=32, frames=(10, 12), seed=1)


def clip(n=12):
    return np.random.default_rng(0).integers(0, 255, (n, 32, 32, 3), dtype=np.uint8)


def write_avi(path):
    import av
    with av.open(str(path), 'w', format='avi') as out:
        s = out.add_stream('mpeg4', rate=12)
        s.width = s.height = 32
        s.pix_fmt = 'yuv420p'
        for f in clip(): out.mux(s.encode(av.VideoFrame.from_ndarray(f, format='rgb24')))
        out.mux(s.encode())


def write_audio_only(path):
    import av
    with av.open(str(path), 'w', format='webm') as out:
        s = out.add_stream('libopus', rate=48000)
        for _ in range(5):
            fr = av.AudioFrame.from_ndarray(np.zeros((1, 960), np.float32), format='flt', layout='mono')
            fr.sample_rate = 48000
            for p in s.encode(fr): out.mux(p)
        for p in s.encode(None): out.mux(p)


def write_png(path):
    from PIL import Image
    Image.fromarray(clip()[0]).save(path, format='PNG')


BROKEN = {  # name: (how the file is written, what the message must say)
    'empty': (lambda p: p.write_bytes(b''), 'empty file (0 bytes); expected an mp4 or webm video'),
    'noise': (lambda p: p.write_bytes(np.random.default_rng(0).bytes(3000)), 'not a decodable video'),
    'truncated': (None, 'not a decodable video'),
    'avi': (write_avi, "container 'avi'; expected an mp4 or webm video"),
    'png': (write_png, "expected an mp4 or webm video"),
    'audio': (write_audio_only, 'no video stream; expected an mp4 or webm video'),
    'short': (lambda p: _write_webm(p, clip(5), 'libvpx'), '5 frame(s); expected at least 8 (one per segment)'),
}


def make_broken(kind, path, release):
    write, _ = BROKEN[kind]
    if write is None: path.write_bytes(next((release/'videos').iterdir()).read_bytes()[:300])   # the header only
    else: write(path)


@pytest.mark.parametrize('kind', list(BROKEN))
def test_decode_names_the_file(kind, release, tmp_path):
    p = tmp_path/f'{kind}.webm'
    make_broken(kind, p, release)
    with pytest.raises(VideoError) as e: decode_video(p, 8, 32)
    assert str(p) in str(e.value) and BROKEN[kind][1] in str(e.value)


@pytest.mark.parametrize('kind', list(BROKEN))
def test_dataset_skips_counts_and_names_once(kind, release, tmp_path, caplog):
    "The broken clip is None, recorded once in .skipped, logged once; the batch counts it; the rest still load."
    root = tmp_path/'set'
    shutil.copytree(release, root)
    victim = read_split(root, 'validation')[1]
    make_broken(kind, victim['path'], release)
    ds = SSv2Videos(root, 'validation', num_segments=8, size=32)
    with caplog.at_level(logging.WARNING, logger='vcore.action.data'):
        items = [ds[i] for i in range(len(ds))] + [ds[1]]
    assert items[1] is None and items[-1] is None and all(x is not None for x in items[:1] + items[2:-1])
    assert [s[0] for s in ds.skipped] == [victim['id']] and BROKEN[kind][1] in ds.skipped[0][1]
    named = [r for r in caplog.records if victim['id'] in r.getMessage()]
    assert len(named) == 1 and str(victim['path']) in named[0].getMessage()
    b = collate_videos(items[:len(ds)])
    assert b['n_skipped'] == 1 and b['video'].shape == (len(ds) - 1, 3, 8, 32, 32) and victim['id'] not in b['id']
    assert b['label'].dtype == torch.int64


def test_too_few_frames_for_the_segments(release):
    "Every clip has 10-12 frames: 16 segments is a skip per clip, each named; 10 segments reads them all."
    ds = SSv2Videos(release, 'validation', num_segments=16, size=32)
    assert all(ds[i] is None for i in range(len(ds))) and len(ds.skipped) == len(ds)
    assert all('expected at least 16 (one per segment)' in r for _, r in ds.skipped)
    ok = SSv2Videos(release, 'validation', num_segments=10, size=32)
    assert all(ok[i] is not None for i in range(len(ok))) and not ok.skipped


def edit_json(root, name, change):
    d = json.loads((root/name).read_text())
    (root/name).write_text(json.dumps(change(d)))


def unknown_template(d):
    d[2]['template'] = 'Juggling [something]'
    return d


def drop_key(d):
    del d[0]['template']
    return d


LAYOUT = {  # name: (file, change, exception, what the message must say)
    'template not in labels.json': ('train.json', unknown_template, ValueError, "template 'Juggling [something]' is not in"),
    'entry without template': ('train.json', drop_key, ValueError, "entry 0: expected an object with keys 'id' and 'template'"),
    'split not a list': ('train.json', lambda d: {'clips': d}, ValueError, 'expected a JSON list of clips'),
    'duplicate id': ('train.json', lambda d: d + d[:1], ValueError, 'appears twice'),
    'label ids with a gap': ('labels.json', lambda d: {**d, next(iter(d)): '99'}, ValueError, 'expected the ids 0 … 11 once each'),
    'label id not a number': ('labels.json', lambda d: {**d, next(iter(d)): 'seven'}, ValueError, "expected an integer id, got 'seven'"),
    'labels not an object': ('labels.json', lambda d: list(d), ValueError, 'expected a non-empty JSON object'),
}


@pytest.mark.parametrize('case', list(LAYOUT))
def test_layout_errors_name_file_and_entry(case, release, tmp_path):
    name, change, exc, says = LAYOUT[case]
    root = tmp_path/'set'
    shutil.copytree(release, root)
    edit_json(root, name, change)
    with pytest.raises(exc) as e: read_split(root, 'train')
    assert says in str(e.value) and name in str(e.value)
    with pytest.raises(exc): SSv2Videos(root, 'train')


def test_missing_video_is_an_error_naming_it(release, tmp_path):
    root = tmp_path/'set'
    shutil.copytree(release, root)
    gone = read_split(root, 'train')[3]
    gone['path'].unlink()
    with pytest.raises(FileNotFoundError) as e: read_split(root, 'train')
    assert str(gone['path']) in str(e.value) and f"id {gone['id']!r}" in str(e.value)
    with pytest.raises(FileNotFoundError): decode_video(gone['path'], 8, 32)


@pytest.mark.parametrize('missing', ['labels.json', 'validation.json'])
def test_missing_layout_file(missing, release, tmp_path):
    root = tmp_path/'set'
    shutil.copytree(release, root)
    (root/missing).unlink()
    with pytest.raises(FileNotFoundError) as e: read_split(root, 'validation')
    assert missing in str(e.value)


def test_bad_json_names_the_file(release, tmp_path):
    root = tmp_path/'set'
    shutil.copytree(release, root)
    (root/'labels.json').write_text('{"Pushing something": ')
    with pytest.raises(ValueError, match='labels.json: not valid JSON'): read_classes(root)


def test_bad_split_name(release):
    with pytest.raises(ValueError, match="split: expected one of \\('train', 'validation'\\), got 'test'"): read_split(release, 'test')


@pytest.mark.parametrize('kwargs, says', [
    (dict(generator='spinning'), "generator: expected one of ('builtin', 'alt'), got 'spinning'"),
    (dict(size=50 + 1), 'size: expected an even number of pixels'),
    (dict(size=16), 'size: expected an integer >= 32'),
    (dict(frames=(12, 8)), 'frames: expected (least, most) clip lengths'),
    (dict(frames=12), 'frames: expected (least, most) clip lengths'),
])
def test_bad_generator_options_write_nothing(kwargs, says, tmp_path):
    with pytest.raises(ValueError) as e: make_ssv2(tmp_path/'out', 4, 4, **kwargs)
    assert says in str(e.value) and not (tmp_path/'out').exists()


def test_builtin_set_bad_option_builds_nothing(tmp_path):
    with pytest.raises(ValueError, match="generator: expected one of"): builtin_ssv2('fancy', home=tmp_path)
    assert not list(tmp_path.iterdir())
