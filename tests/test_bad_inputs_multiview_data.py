"""Bad inputs to the multi-view data side (`vcore.multiview.data`, `vcore.multiview.synth`), table-driven, on tiny files.

Each photo case asserts what `load_image` makes of it (an upright RGB image, or an `ImageError` naming the file),
and that `MultiviewImages` turns an unreadable photo into an error naming the labels.csv line in training and a
counted skip in evaluation. Each CSV case asserts a ValueError naming the line and the column. The writer cases
assert that nothing half-written reads as a set."""
import struct, zlib

import numpy as np
import pytest
import torch
from PIL import Image

from vcore.multiview.data import ImageError, MultiviewImages, collate_images, load_image, read_labels
from vcore.multiview import synth


def png_header_only(path, width, height):
    "A PNG whose header claims width x height RGB pixels, with one tiny (wrong) data chunk: a decompression bomb's shape."
    def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
                     + chunk(b'IDAT', zlib.compress(b'\x00' * 16)) + chunk(b'IEND', b''))
    return path


def good_jpeg(path, size=(64, 48), **kw):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=90, **kw)
    return path


def truncated(path):
    good_jpeg(path, (200, 150)); path.write_bytes(path.read_bytes()[:600]); return path


def zero_bytes(path): path.write_bytes(b''); return path
def not_an_image(path): path.write_text('image,label\n'); return path


BROKEN = {  # name: (how the file is made, the phrase the message must hold)
    'truncated JPEG': (truncated, 'cannot read the image'),
    'zero-byte file': (zero_bytes, 'cannot read the image'),
    'text named .jpg': (not_an_image, 'cannot read the image'),
    'bomb past PIL\'s own limit (30000 x 30000)': (lambda p: png_header_only(p, 30000, 30000), 'refused as a decompression bomb'),
    'bomb past max_pixels (11000 x 11000)': (lambda p: png_header_only(p, 11000, 11000), '121000000 pixels, more than max_pixels=120000000; a decompression bomb?'),
    'missing file': (lambda p: p, 'no such file'),
}


@pytest.mark.parametrize('name', list(BROKEN))
def test_broken_photo_names_the_file(tmp_path, name):
    make, phrase = BROKEN[name]
    p = make(tmp_path/'photo.jpg')
    with pytest.raises(ImageError) as e: load_image(p)
    assert str(p) in str(e.value) and phrase in str(e.value)


def test_bomb_guard_is_a_parameter(tmp_path):
    p = good_jpeg(tmp_path/'a.jpg', (64, 48))
    with pytest.raises(ImageError, match=r'64 x 48 = 3072 pixels, more than max_pixels=3000'): load_image(p, max_pixels=3000)
    assert load_image(p, max_pixels=3072).size == (64, 48)


ODD = {  # name: (PIL image to save, file name, save keywords, the expected first pixel of the RGB result or None)
    'CMYK JPEG': (Image.new('CMYK', (40, 30), (0, 255, 255, 0)), 'a.jpg', {'quality': 95}, (255, 0, 0)),
    '16-bit grayscale PNG': (Image.fromarray(np.full((30, 40), 65535, np.uint16)), 'a.png', {}, (255, 255, 255)),
    '16-bit mid grey': (Image.fromarray(np.full((30, 40), 257 * 100, np.uint16)), 'a.png', {}, (100, 100, 100)),
    'grayscale JPEG': (Image.new('L', (40, 30), 77), 'a.jpg', {'quality': 100}, (77, 77, 77)),
    'palette PNG': (Image.new('RGB', (40, 30), (10, 200, 30)).quantize(4), 'a.png', {}, (10, 200, 30)),
    'transparent PNG': (Image.new('RGBA', (40, 30), (0, 0, 0, 0)), 'a.png', {}, (255, 255, 255)),
    'one pixel': (Image.new('RGB', (1, 1), (9, 9, 9)), 'a.png', {}, (9, 9, 9)),
}


@pytest.mark.parametrize('name', list(ODD))
def test_any_mode_becomes_rgb(tmp_path, name):
    img, fname, kw, first = ODD[name]
    img.save(tmp_path/fname, **kw)
    out = load_image(tmp_path/fname)
    assert out.mode == 'RGB' and out.size == img.size
    assert np.abs(np.asarray(out, int)[0, 0] - first).max() <= 3, np.asarray(out)[0, 0]


@pytest.mark.parametrize('orientation', [3, 6, 8])
def test_exif_rotation_is_undone(tmp_path, orientation):
    "A photo stored turned, with the EXIF tag the writer sets, comes back upright (so its upright mask fits it)."
    up = np.zeros((48, 64, 3), np.uint8); up[:8, :8] = (255, 0, 0)                 # a red top-left corner
    exif = Image.Exif(); exif[0x0112] = orientation
    Image.fromarray(up).transpose(synth._STORE[orientation]).save(tmp_path/'r.jpg', exif=exif, quality=95)
    out = np.asarray(load_image(tmp_path/'r.jpg'), int)
    assert out.shape == (48, 64, 3) and out[2, 2, 0] > 200 and out[-3, -3, 0] < 50


def write_set(folder, files, labels_csv):
    folder.mkdir(parents=True, exist_ok=True)
    for name, make in files.items(): make(folder/name)
    (folder/'labels.csv').write_text(labels_csv)
    return folder


def test_unreadable_photo_training_error_eval_skip(tmp_path):
    root = write_set(tmp_path/'set', {'a.jpg': good_jpeg, 'b.jpg': truncated, 'c.jpg': zero_bytes},
                     'image,label\na.jpg,1\nb.jpg,0\nc.jpg,1\nmissing.jpg,0\n')
    train = MultiviewImages(root)
    assert train[0]['image'].shape == (3, 48, 64) and train[0]['image'].dtype == torch.uint8
    for i, line, fname in [(1, 3, 'b.jpg'), (2, 4, 'c.jpg'), (3, 5, 'missing.jpg')]:
        with pytest.raises(ImageError) as e: train[i]
        assert f'labels.csv line {line}: ' in str(e.value) and fname in str(e.value)
    ev = MultiviewImages(root, skip_bad=True)
    batch = collate_images([ev[i] for i in range(4)])
    assert batch['n_skipped'] == 3 and batch['index'].tolist() == [0] and len(ev.skipped) == 3
    assert collate_images([ev[i] for i in range(4)])['n_skipped'] == 3 and len(ev.skipped) == 3   # logged once per photo


def test_mask_of_another_shape_is_named(tmp_path):
    "A mask stored sideways (or of another photo) is an error naming it, not a silent stretch."
    root = write_set(tmp_path/'set', {'a.jpg': lambda p: good_jpeg(p, (64, 48)), 'm.png': lambda p: Image.new('L', (48, 64)).save(p)},
                     'image,label,mask\na.jpg,1,m.png\n')
    with pytest.raises(ImageError, match=r'line 2: .*m.png: mask of 48 x 64 does not fit the photo'): MultiviewImages(root, with_mask=True)[0]


def test_unreadable_mask_is_named(tmp_path):
    root = write_set(tmp_path/'set', {'a.jpg': good_jpeg, 'm.png': zero_bytes}, 'image,label,mask\na.jpg,1,m.png\n')
    with pytest.raises(ImageError, match=r'line 2: .*m.png: cannot read the mask'): MultiviewImages(root, with_mask=True)[0]
    assert MultiviewImages(root, with_mask=True, skip_bad=True)[0] is None


HEADER = 'image,label,gps_lat,gps_lon,timestamp,weather,camera,source\n'
CSV = {  # name: (the data row, the phrase the message must hold)
    'label 2': ('a.jpg,2,,,,,,', "column 'label': expected 0 or 1, got '2'"),
    'label yes': ('a.jpg,yes,,,,,,', "column 'label': expected 0 or 1, got 'yes'"),
    'label 1.0': ('a.jpg,1.0,,,,,,', "column 'label': expected 0 or 1, got '1.0'"),
    'label empty': ('a.jpg,,,,,,,', "column 'label': expected 0 or 1, got ''"),
    'NaN latitude': ('a.jpg,1,nan,2,,,,', "column 'gps_lat': expected a finite number in [-90, 90], got 'nan'"),
    'inf longitude': ('a.jpg,1,10,inf,,,,', "column 'gps_lon': expected a finite number in [-180, 180], got 'inf'"),
    'latitude 91': ('a.jpg,1,91,2,,,,', "column 'gps_lat': expected a finite number in [-90, 90], got '91'"),
    'longitude -181': ('a.jpg,1,10,-181,,,,', "column 'gps_lon': expected a finite number in [-180, 180], got '-181'"),
    'half a GPS pair': ('a.jpg,1,,2,,,,', "column 'gps_lat': expected gps_lat and gps_lon both given or both empty"),
    'latitude text': ('a.jpg,1,north,2,,,,', "column 'gps_lat': expected a number, got 'north'"),
    'timestamp text': ('a.jpg,1,,,last tuesday,,,', "column 'timestamp': expected an ISO 8601 date-time"),
    'timestamp month 13': ('a.jpg,1,,,2024-13-02T10:00:00,,,', "column 'timestamp': expected an ISO 8601 date-time"),
    'timestamp US order': ('a.jpg,1,,,05/03/2024 14:00,,,', "column 'timestamp'"),
    'unknown weather': ('a.jpg,1,,,,hail,,', "column 'weather': expected one of ['clear', 'cloudy'"),
    'unknown source': ('a.jpg,1,,,,,,generated', "column 'source': expected one of ['real', 'synthetic'] or empty, got 'generated'"),
    'no image': (',1,,,,,,', "column 'image': expected a path, got an empty cell"),
    'too many cells': ('a.jpg,1,,,,,,,x', "9 cells, more than the header's 8"),
}


@pytest.mark.parametrize('name', list(CSV))
def test_bad_cell_names_line_and_column(tmp_path, name):
    body, phrase = CSV[name]
    (tmp_path/'labels.csv').write_text(HEADER + 'ok.jpg,0,,,,,,\n' + body + '\n')
    with pytest.raises(ValueError) as e: read_labels(tmp_path)
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path/'labels.csv'}: line 3") and phrase in msg, msg


@pytest.mark.parametrize('text,phrase', [('img,label\na.jpg,1\n', "missing column 'image'"), ('image,lbl\na.jpg,1\n', "missing column 'label'"),
                                         ('image,label\n', 'no rows'), ('', "missing column 'image'")])
def test_bad_header_or_empty(tmp_path, text, phrase):
    (tmp_path/'labels.csv').write_text(text)
    with pytest.raises(ValueError, match=phrase): read_labels(tmp_path)


def test_no_labels_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match='labels.csv'): read_labels(tmp_path)


def test_optional_fields_all_empty(tmp_path):
    (tmp_path/'labels.csv').write_text(HEADER + 'a.jpg,1,,,,,,\n')
    r = read_labels(tmp_path)[0]
    assert (r.gps_lat, r.gps_lon, r.timestamp, r.weather, r.camera, r.source, r.mask) == (None,) * 7


def test_make_streets_refuses_a_full_folder(tmp_path):
    (tmp_path/'x').mkdir(); (tmp_path/'x'/'keep.txt').write_text('mine')
    with pytest.raises(ValueError, match='exists and is not an empty folder'): synth.make_streets(tmp_path/'x', 2, size=(64, 48))
    assert [p.name for p in (tmp_path/'x').iterdir()] == ['keep.txt']
    with pytest.raises(ValueError, match="generator: expected one of"): synth.make_streets(tmp_path/'y', 2, generator='nope')


def test_crashed_writer_leaves_no_labels(tmp_path, monkeypatch):
    "A renderer that fails half-way leaves photos but no labels.csv: the folder does not read as a set."
    real, calls = synth.GENERATORS['builtin'], []
    def flaky(meta, rng):
        calls.append(1)
        if len(calls) == 3: raise RuntimeError('renderer died')
        return real(meta, rng)
    monkeypatch.setitem(synth.GENERATORS, 'builtin', flaky)
    with pytest.raises(RuntimeError): synth.make_streets(tmp_path/'s', 4, size=(64, 48))
    assert not (tmp_path/'s').exists()                                   # the folder it made is gone
    (tmp_path/'e').mkdir(); calls.clear()
    with pytest.raises(RuntimeError): synth.make_streets(tmp_path/'e', 4, size=(64, 48))
    assert list((tmp_path/'e').iterdir()) == []                          # a given empty folder is left empty


def test_builtin_streets_is_built_once(tmp_path, monkeypatch):
    monkeypatch.setenv('VCORE_DATA', str(tmp_path))
    a = synth.builtin_streets(4, seed=1, size=(64, 48))
    assert (a/'.complete').exists() and len(read_labels(a)) == 4
    stamp = (a/'labels.csv').stat().st_mtime_ns
    assert synth.builtin_streets(4, seed=1, size=(64, 48)) == a and (a/'labels.csv').stat().st_mtime_ns == stamp
