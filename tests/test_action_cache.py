"Bad input to the action feature cache and its extractors, and extraction sharded across 2 gloo processes."
import json, subprocess, sys
from pathlib import Path

import pytest
import torch

from conftest import vcore_env
from vcore.action.data import read_split
from vcore.action.extractors import (DEMO_SPEC, CachedFeatures, FeatureCache, build_extractors, extract_features,
                                     feature_cache)

HERE = Path(__file__).parent
TPL = ['Pushing [something] from left to right', 'Pushing [something] from right to left']


def tiny_release(root, ids=('10', '11', '12', '14', '15'), bad=('13',), n_frames=24):
    "An SSv2-layout folder with random-pixel webm clips (train: every id; validation: the first) and undecodable `bad` ids."
    from vcore.trajectory.data import write_video
    root = Path(root); (root/'videos').mkdir(parents=True, exist_ok=True)
    (root/'labels.json').write_text(json.dumps({t.replace('[', '').replace(']', ''): str(i) for i, t in enumerate(TPL)}))
    entry = lambda i: {'id': i, 'label': 'x', 'template': TPL[int(i) % 2], 'placeholders': ['x']}
    (root/'train.json').write_text(json.dumps([entry(i) for i in (*ids, *bad)]))
    (root/'validation.json').write_text(json.dumps([entry(ids[0])]))
    g = torch.Generator().manual_seed(0)
    for i in ids:
        write_video(root/'videos'/f'{i}.webm', torch.randint(0, 256, (n_frames, 32, 48, 3), dtype=torch.uint8, generator=g).numpy(), fps=12)
    for i in bad: (root/'videos'/f'{i}.webm').write_bytes(b'')
    return root


@pytest.fixture(scope='module')
def filled(tmp_path_factory):
    "A tiny release and its cache filled by the demo extractors (4 segments, 32 px)."
    tmp = tmp_path_factory.mktemp('cache')
    root = tiny_release(tmp/'ssv2')
    res = extract_features(root, 'train', DEMO_SPEC, tmp/'features', num_segments=4, size=32, progress=False)
    return root, tmp/'features', res


def test_fill_counts_and_names_the_skipped_video(filled):
    root, _, res = filled
    assert (res['n_videos'], res['n_extracted'], res['n_skipped']) == (6, 5, 1)
    vid, reason = res['skipped'][0]
    assert vid == '13' and str(root/'videos'/'13.webm') in reason and 'empty file' in reason


def test_cache_of_another_extractor_config_is_refused_by_name(filled):
    root, folder, res = filled
    other = {**DEMO_SPEC, 'motion': {'kind': 'i3d', 'config': {'widths': [8, 16, 32, 64]}}}
    cache = feature_cache(folder, other, 4, 32)
    with pytest.raises(ValueError) as e: CachedFeatures(cache, read_split(root, 'train'))
    msg = str(e.value)
    assert f"{folder}: holds features of other extractor configs only ({res['key']}: DINOv3ViTModel 56 px" in msg
    assert f"none for this config (key {cache.key}" in msg and 'vcore features CONFIG --data DIR' in msg
    # another number of segments is another config too
    assert feature_cache(folder, DEMO_SPEC, 2, 32).key != res['key']


def test_manifest_of_another_key_is_refused(filled):
    _, folder, res = filled
    wrong = folder/'0123456789abcdef'
    wrong.mkdir()
    (wrong/'manifest.json').write_text(json.dumps({'key': res['key'], 'info': None}))
    with pytest.raises(ValueError, match=r"manifest.json: written for extractor key '[0-9a-f]+' .*expected '0123456789abcdef'"):
        FeatureCache(folder, '0123456789abcdef')


def test_entry_under_another_key_is_never_read(filled, tmp_path):
    root, folder, res = filled
    cache = feature_cache(folder, DEMO_SPEC, 4, 32)
    other = FeatureCache(tmp_path, '0123456789abcdef')
    other.folder.mkdir()
    (other.folder/'10.safetensors').write_bytes(cache.path('10').read_bytes())
    assert other.get('10') is None
    ds = CachedFeatures(other, [{'id': '10', 'label': 0}])      # listed by name, yet its key does not match
    with pytest.raises(ValueError, match=r"10.safetensors: written under another extractor key; expected 0123456789abcdef"):
        ds[0]


def test_corrupt_entry_names_the_file_and_is_repaired(filled, tmp_path):
    root, folder, _ = filled
    import shutil
    shutil.copytree(folder, tmp_path/'features')
    cache = feature_cache(tmp_path/'features', DEMO_SPEC, 4, 32)
    good = cache.get('11')
    path = cache.path('11')
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 3])   # truncated
    ds = CachedFeatures(cache, read_split(root, 'train'))
    with pytest.raises(ValueError, match=rf"{path}: unreadable feature cache entry .*vcore features"):
        ds[[it['id'] for it in ds.items].index('11')]
    path.write_bytes(b'\x00' * 64)                                       # overwritten
    with pytest.raises(ValueError, match=rf"{path}: unreadable feature cache entry"): cache.get('11')
    res = extract_features(root, 'train', DEMO_SPEC, tmp_path/'features', 4, 32, progress=False)
    assert (res['n_repaired'], res['n_extracted'], res['n_cached']) == (1, 1, 4)
    assert torch.equal(cache.get('11')['semantic'], good['semantic'])


def test_half_written_entry_is_never_read(filled, tmp_path, monkeypatch):
    "A writer that dies half-way leaves no entry under the video's name: the clip counts as not extracted."
    root, _, _ = filled
    import vcore.action.extractors as ex
    def half(tensors, path, metadata=None):
        Path(path).write_bytes(b'{"partial')
        raise KeyboardInterrupt('killed while writing')
    monkeypatch.setattr(ex, 'save_file', half)
    with pytest.raises(KeyboardInterrupt):
        extract_features(root, 'validation', DEMO_SPEC, tmp_path, 4, 32, progress=False)
    cache = feature_cache(tmp_path, DEMO_SPEC, 4, 32)
    assert cache.ids() == set() and [p.name for p in cache.folder.iterdir()] == ['manifest.json']
    with pytest.raises(ValueError, match=r"no features for 1 of 1 clips \(ids '10'\)"):
        CachedFeatures(cache, read_split(root, 'validation'))
    monkeypatch.undo()
    assert extract_features(root, 'validation', DEMO_SPEC, tmp_path, 4, 32, progress=False)['n_extracted'] == 1


@pytest.mark.parametrize('spec, exc, text', [
    ({'semantic': {'kind': 'vit'}, 'motion': {'kind': 'i3d'}}, ValueError, "spec.semantic.kind: expected one of 'dinov2', 'dinov3', 'appearance', got 'vit'"),
    ({'semantic': {'kind': 'dinov2'}, 'motion': {'kind': 'x3d'}}, ValueError, "spec.motion.kind: expected one of 'r3d_18', 'i3d', 'energy', got 'x3d'"),
    ({'semantic': {'kind': 'dinov2'}}, ValueError, "spec: missing key 'motion'"),
    ({'semantic': {'kind': 'dinov2', 'path': '/nonexistent/dino'}, 'motion': {'kind': 'i3d'}}, FileNotFoundError,
     "spec.semantic.path: /nonexistent/dino: not found; expected a folder with config.json"),
    ({'semantic': {'kind': 'dinov2'}, 'motion': {'kind': 'r3d_18', 'path': '/nonexistent/r3d.pt'}}, FileNotFoundError,
     "spec.motion.path: /nonexistent/r3d.pt: not found; expected a state dict file"),
    ({'semantic': {'kind': 'dinov2', 'layers': 2}, 'motion': {'kind': 'i3d'}}, ValueError, "spec.semantic.layers: unknown option"),
    ({'semantic': {'kind': 'dinov2', 'config': {'hiden_size': 8}}, 'motion': {'kind': 'i3d'}}, ValueError,
     "spec.semantic.config.hiden_size: not a setting of dinov2; expected a field of transformers Dinov2Config"),
    ({'semantic': {'kind': 'dinov2'}, 'motion': {'kind': 'r3d_18', 'frames_per_segment': 3}}, ValueError,
     "frames_per_segment: expected a product of the model's time strides"),
    ('dinov2', TypeError, "spec: expected a dict with keys 'semantic' and 'motion', got str"),
])
def test_bad_spec_names_the_option(spec, exc, text):
    with pytest.raises(exc) as e: build_extractors(spec, 4, 32)
    assert text in str(e.value), str(e.value)


def test_weights_that_do_not_fit_name_the_file(tmp_path):
    torch.save({'conv1.weight': torch.zeros(3)}, tmp_path/'r3d.pt')
    (tmp_path/'junk.pt').write_bytes(b'not a pickle')
    with pytest.raises(ValueError, match=rf"spec.motion.path: {tmp_path/'r3d.pt'}: does not fit VideoResNet"):
        build_extractors({'semantic': {'kind': 'dinov2'}, 'motion': {'kind': 'r3d_18', 'path': str(tmp_path/'r3d.pt')}}, 4, 32)
    with pytest.raises(ValueError, match=rf"spec.motion.path: {tmp_path/'junk.pt'}: cannot be read as a torch state dict"):
        build_extractors({'semantic': {'kind': 'dinov2'}, 'motion': {'kind': 'i3d', 'path': str(tmp_path/'junk.pt')}}, 4, 32)


SHARD = """
import json, sys
from vcore.action.extractors import DEMO_SPEC, extract_features
res = extract_features(sys.argv[1], 'train', DEMO_SPEC, sys.argv[2], num_segments=4, size=32, progress=False)
import torch.distributed as dist
with open(f"{sys.argv[2]}.rank{dist.get_rank()}.json", 'w') as f: json.dump({k: v for k, v in res.items() if k != 'seconds'}, f)
dist.destroy_process_group()   # as a script should: gloo threads alive at exit can abort the process
"""


def test_two_gloo_ranks_split_the_videos_and_match_one_process(filled, tmp_path):
    root, folder, one = filled
    script = tmp_path/'shard.py'; script.write_text(SHARD)
    run = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', str(script),
                          str(root), str(tmp_path/'features')], capture_output=True, text=True, env=vcore_env(), timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    results = [json.loads((tmp_path/f'features.rank{r}.json').read_text()) for r in (0, 1)]
    assert results[0] == results[1]           # every rank gets the gathered summary
    res = results[0]
    assert res['world_size'] == 2 and res['key'] == one['key']
    assert (res['n_videos'], res['n_extracted'], res['n_skipped']) == (6, 5, 1)
    assert res['n_extracted_per_rank'] == [3, 2]                          # ids 10, 12, 14 | 11, 15 (13 is skipped on rank 0)
    a, b = feature_cache(folder, DEMO_SPEC, 4, 32), feature_cache(tmp_path/'features', DEMO_SPEC, 4, 32)
    assert a.ids() == b.ids() == {'10', '11', '12', '14', '15'} and set(b.skipped()) == {'13'}
    for i in a.ids():
        for k in ('semantic', 'motion'): torch.testing.assert_close(a.get(i)[k], b.get(i)[k], rtol=0, atol=0)


def test_local_weights_load_through_the_same_path_and_keep_the_key(tmp_path):
    "Tiny models saved to a folder / state-dict files load back through `path`: same features, same cache key."
    from torchvision.models import resnet18
    from torchvision.models.video import r3d_18
    from transformers import Dinov2Config, Dinov2Model
    from vcore.action.extractors import MotionExtractor, SemanticExtractor, extractor_key
    torch.manual_seed(0)
    dino = Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, mlp_ratio=2, patch_size=8, image_size=56)).eval()
    dino.save_pretrained(tmp_path/'dino')
    r3d = r3d_18(weights=None).eval(); torch.save({'state_dict': r3d.state_dict()}, tmp_path/'r3d.pt')
    torch.save(resnet18(weights=None).state_dict(), tmp_path/'resnet18.pt')
    spec = {'semantic': {'kind': 'dinov2', 'path': str(tmp_path/'dino'), 'image_size': 56},
            'motion': {'kind': 'r3d_18', 'path': str(tmp_path/'r3d.pt'), 'image_size': 32}}
    sem, mot = build_extractors(spec, 4, 32)
    video = torch.randint(0, 256, (1, 3, 8, 32, 32), dtype=torch.uint8)
    torch.testing.assert_close(sem(video[:, :, :4]), SemanticExtractor(dino, 56)(video[:, :, :4]))
    torch.testing.assert_close(mot(video), MotionExtractor(r3d, 4, 2, 32)(video))
    assert extractor_key((sem, mot), n=4) == extractor_key((SemanticExtractor(dino, 56), MotionExtractor(r3d, 4, 2, 32)), n=4)
    # a 2-D ResNet's weights inflated into the I3D of vcore.trajectory
    i3d = {'kind': 'i3d', 'path': str(tmp_path/'resnet18.pt'), 'config': {'widths': [64, 128, 256, 512], 'depths': [2, 2, 2, 2]}}
    _, mot = build_extractors({**spec, 'motion': i3d}, 4, 32)
    assert mot(video).shape == (1, 4, 1, 512)
