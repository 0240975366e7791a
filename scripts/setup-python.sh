#!/usr/bin/env bash
# Creates .venv at the repository root (if missing) with torch, the audited frameworks and the
# accumaudit_probe package (editable). Idempotent: quiet and quick when everything is in place.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
stamp="$venv/.accumaudit-setup"
wanted="$(cat "$root/requirements.txt" "$root/requirements-no-deps.txt" "$root/trainers/python/pyproject.toml" | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]] && "$venv/bin/python" -c "import accumaudit_probe, torch" 2>/dev/null; then
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup-python: creating $venv" >&2
  "$python" -m venv "$venv"
fi

pip=("$venv/bin/python" -m pip --quiet --disable-pip-version-check)
torch_pin="$(grep -E '^torch==' "$root/requirements.txt")"
echo "setup-python: installing $torch_pin, then requirements.txt" >&2
"${pip[@]}" install "$torch_pin"
"${pip[@]}" install -r "$root/requirements.txt"
"${pip[@]}" install -e "$root/trainers/python"
"${pip[@]}" install --no-deps -r "$root/requirements-no-deps.txt"
echo "$wanted" >"$stamp"
echo "setup-python: ready ($venv)" >&2
