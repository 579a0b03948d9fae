"""The README's example runs as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0])
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("XLA_FLAGS", None)
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, check=True, timeout=300)
    assert (tmp_path / "quickstart.png").stat().st_size > 10_000


def test_readme_example_without_float64_raises_one_clear_error(tmp_path):
    """Without `jax_enable_x64` the example stops at its one float64 need
    (a coherent state at tol 1e-10) with the fix named, and nothing before it
    warns (issue 54 item 2: no contradictory precision messages)."""
    block = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)[0]
    script = tmp_path / "example.py"
    script.write_text(block.replace('jax.config.update("jax_enable_x64", True)\n', ""))
    env = dict(os.environ, MPLBACKEND="Agg", JAX_ENABLE_X64="0")
    env.pop("XLA_FLAGS", None)
    run = subprocess.run(
        [sys.executable, "-W", "always", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1
    assert len(re.findall(r"^\w+Error: ", run.stderr, flags=re.M)) == 1, run.stderr
    assert "Warning" not in run.stderr, run.stderr
    assert 'jax.config.update("jax_enable_x64", True)' in run.stderr.splitlines()[-1]


def test_readme_commands_match_ci():
    """.ci/run must call exactly the test command README.md gives."""
    readme = (ROOT / "README.md").read_text()
    bash_blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    test_cmd = [b.strip() for b in bash_blocks if "pytest" in b]
    assert len(test_cmd) == 1
    ci = (ROOT / ".ci" / "run").read_text()
    # CI adds -q to pip only through the same line; compare the command verbatim
    assert test_cmd[0] in ci
