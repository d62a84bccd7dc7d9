"""Bad inputs to `vcore train/eval/explain/bench/demo`, table-driven, through the installed entry point
(`vcore.cli.main`, in-process to keep the suite fast; `test_bad_inputs.py` runs the same command as a subprocess).

Each case asserts: exit status 2, one message naming the offending key, file or value, and nothing left in `--out`."""
import json, os, signal, subprocess, time

import numpy as np
import pytest
import torch

from conftest import BIN, TINY, vcore_env, vcore_status as run   # in-process: (exit status, stderr)

GOOD = TINY % dict(steps=4, bs=8, dropout=0.1)


def files_under(p):
    return sorted(str(q.relative_to(p)) for q in p.rglob('*')) if p.exists() else []


# --- train: every ranged field of TrainConfig, and the model/data sections of a built-in system ------------------
SET_CASES = {
    'steps 0': ('train.steps=0', 'train.steps: expected a finite number > 0, got 0'),
    'steps negative': ('train.steps=-5', 'train.steps: expected a finite number > 0, got -5'),
    'clip_grad negative': ('train.clip_grad=-1', 'train.clip_grad: expected a finite number > 0, got -1'),
    'patience 0': ('train.patience=0', 'train.patience: expected a finite number > 0, got 0'),
    'batch_size 0': ('train.batch_size=0', 'train.batch_size: expected a finite number > 0, got 0'),
    'accum_steps 0': ('train.accum_steps=0', 'train.accum_steps: expected a finite number > 0'),
    'eval_every 0': ('train.eval_every=0', 'train.eval_every: expected a finite number > 0'),
    'log_every 0': ('train.log_every=0', 'train.log_every: expected a finite number > 0'),
    'lr nan': ('train.lr=.nan', 'train.lr: expected a finite number > 0, got nan'),
    'lr inf': ('train.lr=.inf', 'train.lr: expected a finite number > 0, got inf'),
    'lr negative': ('train.lr=-1e-3', 'train.lr: expected a finite number > 0, got -0.001'),
    'weight_decay negative': ('train.weight_decay=-0.1', 'train.weight_decay: expected a finite number >= 0'),
    'beta out of range': ('train.betas=[0.9, 1.5]', 'train.betas[1]: expected a finite number in [0, 1), got 1.5'),
    'betas wrong length': ('train.betas=[0.9]', 'train.betas: expected 2 items, got 1'),
    'min_lr_ratio above 1': ('train.min_lr_ratio=2', 'train.min_lr_ratio: expected a finite number in [0, 1], got 2'),
    'monitor_mode unknown': ('train.monitor_mode=mean', "train.monitor_mode: expected one of 'min', 'max', got 'mean'"),
    'num_workers negative': ('train.num_workers=-1', 'train.num_workers: expected a finite number >= 0'),
    'seed negative': ('train.seed=-1', 'train.seed: expected a finite number >= 0, got -1'),
    'warmup negative': ('train.warmup_steps=-1', 'train.warmup_steps: expected a finite number >= 0'),
    'amp not a bool': ('train.amp=maybe', 'train.amp: expected bool'),
    'steps a float': ('train.steps=2.5', 'train.steps: expected int, got float 2.5'),
    'steps null': ('train.steps=', 'train.steps: expected int, got NoneType'),
}


@pytest.mark.parametrize('case', list(SET_CASES))
def test_train_refuses_config_values(tmp_path, case):
    (tmp_path/'c.yaml').write_text(GOOD)
    override, msg = SET_CASES[case]
    code, err = run('train', tmp_path/'c.yaml', '--out', tmp_path/'out', '--set', override)
    assert code == 2 and msg in err, err
    assert not (tmp_path/'out').exists()


TOY_CASES = {
    'num_heads 0': ('model.num_heads=0', 'model.num_heads: expected a finite number > 0, got 0'),
    'dim 0': ('model.dim=0', 'model.dim: expected a finite number > 0, got 0'),
    'drop_path 1': ('model.drop_path=1.0', 'model.drop_path: expected a finite number in [0, 1), got 1.0'),
    'num_classes 0': ('data.num_classes=0', 'data.num_classes: expected a finite number > 0, got 0'),
    'noise negative': ('data.noise=-1', 'data.noise: expected a finite number >= 0, got -1'),
    'motif longer than sequence': ('data.motif_len=40', 'data.motif_len: expected at most data.seq_len=16, got 40'),
    'n_val 0': ('data.n_val=0', 'data.n_val: expected a finite number > 0, got 0'),
}


@pytest.mark.parametrize('case', list(TOY_CASES))
def test_train_refuses_toy_values(tmp_path, case):
    override, msg = TOY_CASES[case]
    code, err = run('train', 'toy_demo', '--out', tmp_path/'out', '--set', override, 'train.steps=2')
    assert code == 2 and msg in err, err
    assert not (tmp_path/'out').exists()


# --- toy data files -------------------------------------------------------------------------------------------
def toy(x=None, y=None, **kw):
    d = {'x': torch.zeros(6, 16, 8) if x is None else x, 'y': torch.zeros(6, dtype=torch.long) if y is None else y}
    d.update(kw)
    return d


TOY_FILES = {
    'text file': (lambda p: p.write_text('hello'), 'not a readable .pt file of tensors'),
    'truncated zip': (lambda p: p.write_bytes(b'PK\x03\x04 torn'), 'not a readable .pt file of tensors'),
    'numpy npz': (lambda p: np.savez(open(p, 'wb'), x=np.zeros(3)), 'not a readable .pt file of tensors'),
    'missing y': (lambda p: torch.save({'x': torch.zeros(6, 16, 8)}, p), "missing key 'y'; a toy data file holds ['x', 'y']"),
    'not a dict': (lambda p: torch.save(torch.zeros(3), p), "expected a mapping with keys ['x', 'y'], got Tensor"),
    'x a string': (lambda p: torch.save({'x': 'seq', 'y': torch.zeros(1, dtype=torch.long)}, p), 'x: expected a torch.Tensor'),
    'NaN values': (lambda p: torch.save(toy(x=torch.full((6, 16, 8), float('nan'))), p), 'x: expected finite values'),
    'inf values': (lambda p: torch.save(toy(x=torch.full((6, 16, 8), float('inf'))), p), 'x: expected finite values'),
    'label out of range': (lambda p: torch.save(toy(y=torch.tensor([0, 1, 2, 3, 4, 0])), p), 'y: expected labels in 0..3, got 4 at row 4'),
    'negative label': (lambda p: torch.save(toy(y=torch.tensor([0, -1, 2, 3, 0, 0])), p), 'y: expected labels in 0..3, got -1 at row 1'),
    'float labels': (lambda p: torch.save(toy(y=torch.zeros(6)), p), 'y: expected dtype torch.int64, got torch.float32'),
    'integer x': (lambda p: torch.save(toy(x=torch.zeros(6, 16, 8, dtype=torch.long)), p), 'x: expected a float tensor, got torch.int64'),
    'wrong length': (lambda p: torch.save(toy(x=torch.zeros(6, 12, 8)), p), 'x: expected shape (n, l=16, f=8), got (6, 12, 8)'),
    'wrong rank': (lambda p: torch.save(toy(x=torch.zeros(6, 128)), p), 'x: expected shape (n, l=16, f=8), got (6, 128)'),
    'labels count': (lambda p: torch.save(toy(y=torch.zeros(5, dtype=torch.long)), p), 'y: expected shape (n=6), got (5,)'),
    'empty': (lambda p: torch.save(toy(x=torch.zeros(0, 16, 8), y=torch.zeros(0, dtype=torch.long)), p), 'x: expected at least one sequence, got n=0'),
}


@pytest.mark.parametrize('case', list(TOY_FILES))
def test_toy_data_files(tmp_path, case):
    make, msg = TOY_FILES[case]
    make(tmp_path/'d.pt')
    code, err = run('train', 'toy_demo', '--data', tmp_path/'d.pt', '--out', tmp_path/'out', '--set', 'train.steps=2')
    assert code == 2 and msg in err and 'd.pt' in err, err
    assert not (tmp_path/'out').exists()


def test_toy_data_folder(tmp_path):
    (tmp_path/'d').mkdir()
    code, err = run('train', 'toy_demo', '--data', tmp_path/'d', '--out', tmp_path/'out')
    assert code == 2 and 'no such toy data file' in err, err


# --- output folders and files ---------------------------------------------------------------------------------
def test_train_out_is_a_file(tmp_path):
    (tmp_path/'c.yaml').write_text(GOOD); (tmp_path/'f').write_text('keep')
    code, err = run('train', tmp_path/'c.yaml', '--out', tmp_path/'f')
    assert code == 2 and 'is a file; expected a folder' in err, err
    code, err = run('train', tmp_path/'c.yaml', '--out', tmp_path/'f'/'run')
    assert code == 2 and 'is a file, so no folder can be made inside it' in err, err
    assert (tmp_path/'f').read_text() == 'keep'


def test_train_out_unwritable(tmp_path):
    (tmp_path/'c.yaml').write_text(GOOD)
    code, err = run('train', tmp_path/'c.yaml', '--out', '/proc/vcore-run')
    assert code == 2 and "cannot write in '/proc'" in err, err


# --- runs to evaluate -----------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('toy')/'run'
    code, err = run('train', 'toy_demo', '--out', out, '--set', 'train.steps=8', 'train.eval_every=4', 'train.device=cpu')
    assert code == 0, err
    return out


def test_eval_scores_exactly_the_given_file(tmp_path, toy_run):
    torch.save(toy(x=torch.randn(10, 16, 8), y=torch.arange(10) % 4), tmp_path/'held.pt')
    code, err = run('eval', toy_run/'best.pt', '--data', tmp_path/'held.pt', '--out', tmp_path/'m.json')
    assert code == 0, err
    m = json.loads((tmp_path/'m.json').read_text())
    assert sum(map(sum, m['confusion'])) == 10        # the 10 given sequences, not the built-in 256


EVAL_CASES = {
    'out is a folder': (lambda t, r: [r/'best.pt', '--out', t], 'is a folder; expected a file path'),
    'out under a file': (lambda t, r: [r/'best.pt', '--out', r/'best.pt'/'m.json'], 'is a file, so no folder can be made'),
    'checkpoint is a folder': (lambda t, r: [r], 'is a folder; expected a checkpoint file'),
    'checkpoint missing': (lambda t, r: [t/'nope.pt'], 'does not exist'),
    'data missing': (lambda t, r: [r/'best.pt', '--data', t/'nope.pt'], "--data"),
    'data of another system': (lambda t, r: [r/'best.pt', '--data', r/'config.yaml'], 'not a readable .pt file of tensors'),
    'bad device': (lambda t, r: [r/'best.pt', '--device', 'tpu'], "expected 'auto', 'cpu' or 'cuda"),
}


@pytest.mark.parametrize('case', list(EVAL_CASES))
def test_eval_errors(tmp_path, toy_run, case):
    args, msg = EVAL_CASES[case]
    before = files_under(tmp_path)
    code, err = run('eval', *args(tmp_path, toy_run))
    assert code == 2 and msg in err, err
    assert files_under(tmp_path) == before


def test_eval_truncated_checkpoint(tmp_path, toy_run):
    data = (toy_run/'best.pt').read_bytes()
    (tmp_path/'torn.pt').write_bytes(data[:len(data) // 2])
    code, err = run('eval', tmp_path/'torn.pt', '--out', tmp_path/'m.json')
    assert code == 2 and 'not a readable vcore checkpoint' in err, err
    assert not (tmp_path/'m.json').exists()


def test_eval_config_disagrees_with_weights(tmp_path, toy_run):
    ck = torch.load(toy_run/'best.pt', weights_only=True)
    ck['config']['model']['dim'] = 48
    torch.save(ck, tmp_path/'edited.pt')
    code, err = run('eval', tmp_path/'edited.pt', '--out', tmp_path/'m.json')
    assert code == 2 and 'its weights do not fit the model its config builds' in err and 'edited.pt' in err, err
    ck['config']['model']['width'] = 3
    torch.save(ck, tmp_path/'unknown.pt')
    code, err = run('eval', tmp_path/'unknown.pt')
    assert code == 2 and "its config does not load (unknown key 'model.width'" in err and 'unknown.pt' in err, err
    assert not (tmp_path/'m.json').exists()


def test_eval_scores_the_given_file_of_a_user_recipe(tmp_path):
    (tmp_path/'c.yaml').write_text(GOOD)
    assert run('train', tmp_path/'c.yaml', '--out', tmp_path/'run')[0] == 0
    torch.save({'x': torch.zeros(3, 4), 'y': torch.zeros(3)}, tmp_path/'d.pt')
    code, err = run('eval', tmp_path/'run'/'best.pt', '--data', tmp_path/'d.pt', '--out', tmp_path/'m.json')
    assert code == 0, err
    assert json.loads((tmp_path/'m.json').read_text())['n'] == 3


EXPLAIN_CASES = {
    'system without explain': (lambda t, r: [r/'best.pt', '--data', r/'config.yaml', '--out', t/'e.jsonl'], "system 'toy' has no explain step"),
    'no --data': (lambda t, r: [r/'best.pt', '--out', t/'e.jsonl'], '--data and --out are required'),
    'out is a folder': (lambda t, r: [r/'best.pt', '--data', r/'config.yaml', '--out', t], 'is a folder; expected a file path'),
    'data missing': (lambda t, r: [r/'best.pt', '--data', t/'nope.npz', '--out', t/'e.jsonl'], 'does not exist'),
}


@pytest.mark.parametrize('case', list(EXPLAIN_CASES))
def test_explain_errors(tmp_path, toy_run, case):
    args, msg = EXPLAIN_CASES[case]
    code, err = run('explain', *args(tmp_path, toy_run))
    assert code == 2 and msg in err, err
    assert not (tmp_path/'e.jsonl').exists()


HOOK_CASES = {
    'predict: system without the step': (lambda t, r: ['predict', r/'best.pt', t/'a.jpg'], "system 'toy' has no predict step"),
    'predict: csv missing': (lambda t, r: ['predict', r/'best.pt', t/'a.jpg', '--csv', t/'nope.csv'], "--csv"),
    'predict: checkpoint missing': (lambda t, r: ['predict', t/'nope.pt', t/'a.jpg'], 'does not exist'),
    'insilico: system without the step': (lambda t, r: ['insilico', r/'best.pt', '--out', t/'twin'], "system 'toy' has no in-silico step"),
    'insilico: no --out': (lambda t, r: ['insilico', r/'best.pt'], '--out is required'),
    'insilico: out is a file': (lambda t, r: ['insilico', r/'best.pt', '--out', r/'config.yaml'], 'is a file; expected a folder'),
    'features: system without the step': (lambda t, r: ['features', 'toy_demo'], "system 'toy' has no feature extraction step"),
    'features: unknown preset': (lambda t, r: ['features', 'no_such_preset'], "unknown preset 'no_such_preset'"),
}


@pytest.mark.parametrize('case', list(HOOK_CASES))
def test_hook_command_errors(tmp_path, toy_run, case):
    args, msg = HOOK_CASES[case]
    before = files_under(tmp_path)
    code, err = run(*args(tmp_path, toy_run))
    assert code == 2 and msg in err, err
    assert files_under(tmp_path) == before


BENCH_CASES = {
    'B not an int': (['attention', '--set', 'B=abc'], "B: expected int, got str 'abc'"),
    'B zero': (['attention', '--set', 'B=0'], 'B: expected a finite number > 0, got 0'),
    'negative min_run_time': (['attention', '--set', 'min_run_time=-1'], 'min_run_time: expected a finite number > 0, got -1'),
    'unknown benchmark': (['nope'], "name: expected one of"),
    'unknown argument': (['attention', '--set', 'heads=4'], "'heads': not an argument of the 'attention' benchmark"),
}


@pytest.mark.parametrize('case', list(BENCH_CASES))
def test_bench_errors(case):
    args, msg = BENCH_CASES[case]
    code, err = run('bench', *args)
    assert code == 2 and msg in err, err


def test_demo_errors(tmp_path):
    code, err = run('demo', '--systems', 'nonesuch', '--out', tmp_path/'d')
    assert code == 2 and "unknown system 'nonesuch'" in err, err
    (tmp_path/'f').write_text('')
    code, err = run('demo', '--systems', 'toy', '--out', tmp_path/'f')
    assert code == 2 and 'is a file; expected a folder' in err, err
    assert files_under(tmp_path) == ['f']


# --- resume, torn logs, stray files, concurrent runs ----------------------------------------------------------
def test_resume_beyond_steps_rewrites_nothing(tmp_path, tiny_config):
    cfg, out = tiny_config(steps=10), tmp_path/'run'
    assert run('train', cfg, '--out', out)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, err = run('train', cfg, '--out', out, '--resume', '--set', 'train.steps=4')
    assert code == 2 and 'beyond train.steps=4' in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_resume_drops_torn_log_line_and_stale_temps(tmp_path, tiny_config):
    cfg, out = tiny_config(steps=10), tmp_path/'run'
    assert run('train', cfg, '--out', out, '--set', 'train.steps=5')[0] == 0
    with open(out/'metrics.jsonl', 'a') as f: f.write('{"step": 6, "train/lo')
    (out/'.last.pt.999999999.0123abcd.tmp').write_bytes(b'left by a killed writer')
    code, err = run('train', cfg, '--out', out, '--resume')
    assert code == 0 and 'dropped the torn last line' in err, err
    assert not (out/'.last.pt.999999999.0123abcd.tmp').exists()
    assert all(json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines())
    (out/'metrics.jsonl').write_text('{"step": 5}\nnot json\n{"step": 10}\n')
    code, err = run('train', cfg, '--out', out, '--resume')
    assert code == 2 and 'metrics.jsonl: line 2 is not a JSON record' in err, err


def test_two_runs_never_share_a_folder(tmp_path, tiny_config):
    cfg, out = tiny_config(steps=30), tmp_path/'run'
    p = subprocess.Popen([str(BIN/'vcore'), 'train', str(cfg), '--out', str(out)], env=vcore_env(TINY_SLEEP='0.2'),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (out/'config.yaml').exists() and time.time() < deadline: time.sleep(0.05)
        code, err = run('train', cfg, '--out', out)
        assert code == 2 and 'in use by another vcore run' in err, err
    finally:
        os.kill(p.pid, signal.SIGKILL); p.wait()


def test_evaluate_dataset_refuses_an_empty_dataset(toy_run):
    from vcore.train import evaluate_dataset, load_model
    model, cfg, recipe = load_model(toy_run/'best.pt')
    with pytest.raises(ValueError, match='expected at least one sample to evaluate'):
        evaluate_dataset(model, recipe, cfg, [])
