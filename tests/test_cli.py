"The command line as a user meets it: train, eval, help, on a recipe defined outside the library."
import json

import torch

from conftest import vcore, vcore_main   # vcore: a new interpreter, as from a shell; vcore_main: the same entry point in-process


def test_help_lists_commands_and_presets():
    r = vcore('--help')
    assert r.returncode == 0, r.stderr
    assert 'train' in r.stdout and 'eval' in r.stdout and 'toy_demo' in r.stdout


def test_train_then_eval(tmp_path, tiny_config):
    out = tmp_path/'run'
    r = vcore_main('train', tiny_config(), '--out', out, '--set', 'train.steps=15', 'model.hidden=8')
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ['best.pt', 'config.yaml', 'last.pt', 'metrics.jsonl']
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary['step'] == 15
    ck = torch.load(out/'last.pt', weights_only=True)
    assert ck['config']['model']['hidden'] == 8 and ck['model']['0.weight'].shape == (8, 4)
    log = [json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines()]
    assert [r['step'] for r in log if 'val/loss' in r] == [5, 10, 15]

    r = vcore_main('eval', out/'best.pt', '--out', tmp_path/'m.json')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'m.json').read_text())
    assert m['n'] == 24 and m['loss'] == min(l['val/loss'] for l in log if 'val/loss' in l)

    # held-out data from a file goes through the recipe's build_eval_data
    g = torch.Generator().manual_seed(5)
    x = torch.randn(10, 4, generator=g)
    torch.save({'x': x, 'y': x.sum(1)}, tmp_path/'held.pt')
    r = vcore_main('eval', out/'best.pt', '--data', tmp_path/'held.pt')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)['n'] == 10


def test_train_reads_data_path(tmp_path, tiny_config):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(32, 4, generator=g)
    torch.save({'x': x, 'y': x[:, 0]}, tmp_path/'train.pt')
    r = vcore_main('train', tiny_config(steps=4), '--data', tmp_path/'train.pt', '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
    ck = torch.load(tmp_path/'run'/'last.pt', weights_only=True)
    assert ck['config']['data']['path'] == str(tmp_path/'train.pt')


def test_bench_takes_its_arguments_and_names_unknown_ones():
    r = vcore_main('bench', 'attention', '--device', 'cpu', '--set', 'B=2', 'N=16', 'dim=32', 'min_run_time=0.05')
    assert r.returncode == 0, r.stderr
    assert 'B=2, N=16, dim=32' in r.stdout, r.stdout
    r = vcore_main('bench', 'attention', '--device', 'cpu', '--set', 'heads=4')
    assert r.returncode == 2 and "'heads': not an argument of the 'attention' benchmark" in r.stderr, r.stderr


def test_demo_and_figures_on_the_toy_system(tmp_path):
    "`vcore demo` writes its summary table (stages in worker processes with --jobs 2); `vcore figures` rewrites the README's table and reuses finished runs."
    from conftest import vcore_main
    figs, readme = tmp_path/'figures', tmp_path/'README.md'
    r = vcore_main('demo', '--systems', 'toy', '--out', tmp_path/'demo', '--figures', figs, '--device', 'cpu', '--jobs', '2')
    assert r.returncode == 0, r.stderr
    summary = (figs/'demo_summary.md').read_text()
    assert '| toy | toy_demo | top-1 |' in summary and 'min in all' in summary, summary
    # the preset (the recipe's demo_parts) is trained in a stage of its own; the demo stage after it reuses the run
    assert r.stdout.index('toy toy_demo: done at') < r.stdout.index('toy: done at'), r.stdout
    part, stage = (tmp_path/'demo'/'toy.toy_demo.log').read_text(), (tmp_path/'demo'/'toy.log').read_text()
    assert 'toy: toy_demo: done in' in part and 'toy: demo stage: done in' in stage, (part, stage)
    best, part_log = (tmp_path/'demo'/'toy'/'toy_demo'/'best.pt').stat(), (tmp_path/'demo'/'toy.toy_demo.log').stat()
    assert best.st_mtime_ns <= part_log.st_mtime_ns                                 # not trained again by the demo stage
    r = vcore_main('demo', '--systems', 'toy', '--jobs', '0', '--out', tmp_path/'d2')
    assert r.returncode == 2 and '--jobs: expected an int >= 1, got 0' in r.stderr, r.stderr
    readme.write_text('# x\n\nprose\n<!-- results:start -->\nold table\n<!-- results:end -->\nmore prose\n')
    r = vcore_main('figures', '--systems', 'toy', '--out', tmp_path/'runs', '--figures', figs, '--readme', readme, '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    table = (figs/'results.md').read_text()
    assert readme.read_text() == f'# x\n\nprose\n<!-- results:start -->\n{table}<!-- results:end -->\nmore prose\n'
    stamp = (tmp_path/'runs'/'toy'/'toy_demo'/'best.pt').stat().st_mtime_ns
    assert vcore_main('figures', '--systems', 'toy', '--out', tmp_path/'runs', '--figures', figs, '--readme', readme).returncode == 0
    assert (tmp_path/'runs'/'toy'/'toy_demo'/'best.pt').stat().st_mtime_ns == stamp            # a finished run is reused
    assert (figs/'results.md').read_text() == table
    readme.write_text('no markers')
    r = vcore_main('figures', '--systems', 'toy', '--out', tmp_path/'other', '--figures', figs, '--readme', readme)
    assert r.returncode == 2 and 'expected the markers' in r.stderr and not (tmp_path/'other').exists(), r.stderr

