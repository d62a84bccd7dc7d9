"Mistakes a user makes: each ends with exit status 2, one message naming what was expected, and no output."
import pytest
import torch

from conftest import vcore_main, TINY


def bad_yaml(tmp_path, text, name='bad.yaml'):
    p = tmp_path/name
    p.write_text(text)
    return p


GOOD = TINY % dict(steps=4, bs=8, dropout=0.1)

CASES = {
    'unknown preset': (lambda t: ['no_such_preset'], "unknown preset 'no_such_preset'"),
    'missing config file': (lambda t: [t/'nope.yaml'], 'does not exist'),
    'invalid yaml': (lambda t: [bad_yaml(t, 'system: [unclosed')], 'not valid YAML'),
    'config not a mapping': (lambda t: [bad_yaml(t, '- 1\n- 2\n')], 'expected a mapping'),
    'missing system': (lambda t: [bad_yaml(t, 'model: {hidden: 3}\n')], "missing key 'system'"),
    'unknown system': (lambda t: [bad_yaml(t, 'system: nonesuch\n')], "unknown system 'nonesuch'"),
    'unknown model key': (lambda t: [bad_yaml(t, GOOD.replace('hidden: 16', 'hiden: 16'))], "unknown key 'model.hiden'"),
    'wrong value type': (lambda t: [bad_yaml(t, GOOD.replace('hidden: 16', 'hidden: wide'))], 'model.hidden: expected int'),
    'bad --set form': (lambda t: [bad_yaml(t, GOOD), '--set', 'model.hidden'], "expected 'key=value'"),
    'bad --set value': (lambda t: [bad_yaml(t, GOOD), '--set', 'train.steps=many'], 'train.steps: expected int'),
    '--set unknown key': (lambda t: [bad_yaml(t, GOOD), '--set', 'train.stepz=3'], "unknown key 'train.stepz'"),
    'missing --data': (lambda t: [bad_yaml(t, GOOD), '--data', t/'absent.pt'], 'does not exist'),
    'batch larger than data': (lambda t: [bad_yaml(t, GOOD), '--set', 'train.batch_size=1000'], 'one step needs'),
    'resume without a run': (lambda t: [bad_yaml(t, GOOD), '--resume'], 'nothing to resume'),
    'bad device': (lambda t: [bad_yaml(t, GOOD), '--device', 'tpu'], "expected 'auto', 'cpu' or 'cuda"),
}


@pytest.mark.parametrize('case', list(CASES))
def test_train_errors(tmp_path, case):
    args, msg = CASES[case]
    out = tmp_path/'out'
    r = vcore_main('train', *args(tmp_path), '--out', out)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert msg in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr
    assert not out.exists(), 'a failed command left output behind'


def test_corrupt_checkpoint(tmp_path):
    (tmp_path/'last.pt').write_bytes(b'PK\x03\x04 truncated')
    r = vcore_main('eval', tmp_path/'last.pt', '--out', tmp_path/'m.json')
    assert r.returncode == 2 and 'not a readable vcore checkpoint' in r.stderr, r.stderr
    assert not (tmp_path/'m.json').exists()


def test_foreign_checkpoint(tmp_path):
    torch.save({'state_dict': {}}, tmp_path/'other.pt')
    r = vcore_main('eval', tmp_path/'other.pt')
    assert r.returncode == 2 and "lacks key 'model'" in r.stderr, r.stderr


def test_existing_run_is_not_overwritten(tmp_path, tiny_config):
    cfg, out = tiny_config(steps=4), tmp_path/'run'
    assert vcore_main('train', cfg, '--out', out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    r = vcore_main('train', cfg, '--out', out)
    assert r.returncode == 2 and 'already holds a run' in r.stderr, r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_layer_shape_error_names_expected_shape():
    from vcore.layers.attention import Attention
    with pytest.raises(ValueError, match='expected'):
        Attention(32, num_heads=4)(torch.randn(2, 5, 16))
