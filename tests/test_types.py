"""The packages every other stage builds on, and the interfaces over them, type-check: mypy
over contracts/, index/, matching/, the CLI and its commands, and the web service, with
pydantic's plugin (pyproject.toml [tool.mypy]), finds no error."""

import subprocess
import sys

from conftest import REPO


def test_contracts_index_matching_and_the_interfaces_type_check():
    proc = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir=/dev/null"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert "Success: no issues found" in proc.stdout
