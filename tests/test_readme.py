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


def test_readme_commands_match_ci():
    """.ci/run must call exactly the test command README.md gives."""
    readme = (ROOT / "README.md").read_text()
    bash_blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    test_cmd = [b.strip() for b in bash_blocks if "pytest" in b]
    assert len(test_cmd) == 1
    ci = (ROOT / ".ci" / "run").read_text()
    # CI adds -q to pip only through the same line; compare the command verbatim
    assert test_cmd[0] in ci
