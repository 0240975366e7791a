"""The command that installs the worker's Python environment, for the messages that point to it."""

from pathlib import Path


def setup_command() -> str:
    """``bash /path/to/scripts/setup-python.sh`` of the package this worker came from (a checkout
    or node_modules/accumaudit), else the script's path in the repository."""
    script = Path(__file__).resolve().parents[3] / "scripts" / "setup-python.sh"
    return f"bash {script}" if script.is_file() else "bash scripts/setup-python.sh"
