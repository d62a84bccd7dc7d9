"A wheel built from a clean checkout holds every subpackage and preset, and imports in a fresh venv."
import subprocess, sys, sysconfig, venv, zipfile
from pathlib import Path

REPO = Path(__file__).parents[1]


def run(*cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, (cmd, r.stdout[-2000:], r.stderr[-2000:])
    return r


def test_wheel_installs_and_imports(tmp_path):
    # a clean checkout: the tracked files only
    src = tmp_path/'src'
    files = run('git', 'ls-files', cwd=REPO).stdout.split()
    for f in files:
        if (REPO/f).is_file():
            (src/f).parent.mkdir(parents=True, exist_ok=True)
            (src/f).write_bytes((REPO/f).read_bytes())
    run(sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-w', tmp_path/'dist', src)
    wheel = next((tmp_path/'dist').glob('vcore-*.whl'))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f for f in files if f.startswith('vcore/') and f.endswith(('.py', '.yaml'))}
    assert expected and expected <= names, sorted(expected - names)
    assert any(n.startswith('vcore/configs/') and n.endswith('.yaml') for n in names)

    # a fresh venv: the wheel installed without dependencies; torch & co. seen through a path file,
    # which adds the dependencies' folder but does not run the editable install's hooks
    env = tmp_path/'venv'
    venv.create(env, with_pip=False)
    py = env/'bin'/'python'
    site = Path(run(py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])').stdout.strip())
    (site/'deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    run(sys.executable, '-m', 'pip', '--python', py, 'install', '--no-deps', '--no-index', wheel)
    mods = sorted(f[:-3].replace('/', '.').removesuffix('.__init__') for f in expected if f.endswith('.py'))
    code = ('import importlib, vcore, vcore.core as c; '
            f'[importlib.import_module(m) for m in {mods!r}]; '
            f'assert vcore.__file__.startswith({str(site)!r}), vcore.__file__; '
            'print(len(c.list_presets()))')
    out = run(py, '-c', code, cwd=tmp_path).stdout
    assert int(out) >= 1
    assert 'usage: vcore' in run(env/'bin'/'vcore', '--help', cwd=tmp_path).stdout
