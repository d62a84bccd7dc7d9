"""The multi-view demo hook end to end on tiny settings: every run of `vcore figures` (8 views, 12 views, trained
without metadata, scored on the 'alt' generator), the figures, and the summary rows."""
from test_bad_inputs_multiview import photos

SMALL = ['data.image_size=96', 'data.view_size=32', 'data.n=8', 'data.clusters=2', 'model.dim=32', 'model.depth=1',
         'model.num_heads=4', 'model.mask_grid=2', 'train.steps=2', 'train.batch_size=4', 'train.eval_every=2']


def test_demo_full(tmp_path, monkeypatch):
    from vcore.multiview.recipe import demo
    monkeypatch.setenv('VCORE_DATA', str(tmp_path/'home'))
    data = photos(tmp_path/'data', n=16)
    res = demo(tmp_path/'runs', tmp_path/'figs', device='cpu', overrides=[*SMALL, f'data.path={data}'], full=True)
    assert {'views8', 'views12', 'no_meta', 'alt', 'figures', 'rows'} <= set(res)
    assert {'mcc', 'accuracy', 'auroc', 'reward', 'mcc_by_source', 'n_skipped'} <= set(res['alt'])
    assert sorted(p.name for p in (tmp_path/'figs').iterdir()) == [
        'multiview_confusion.png', 'multiview_embeddings.png', 'multiview_gates.png', 'multiview_importance.png']
    assert len(res['rows']) == 4 and all(r['system'] == 'multiview' for r in res['rows'])
    assert any((tmp_path/'home'/'multiview').glob('streets-alt-*'))
