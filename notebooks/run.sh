#!/usr/bin/env bash
# Executes notebooks/compare_rhetoric.ipynb headless against a folder written by `rhetor analyze`.
#
#   notebooks/run.sh RESULTS_DIR        (for example: make demo && notebooks/run.sh out)
#
# Writes RESULTS_DIR/compare_rhetoric.executed.ipynb (the notebook with its outputs); the notebook itself
# writes RESULTS_DIR/notebook_summary.csv, RESULTS_DIR/notebook_summary_by_document.csv and
# RESULTS_DIR/notebook_figures/*.png. Exits non-zero if any cell fails (the partly executed notebook is
# still written, to show where).
#
# Environment:
#   RHETOR_NOTEBOOK_VENV  virtualenv to create or reuse (default: ~/.cache/rhetor/notebook-venv)
#   PYTHON                interpreter that creates it (default: python3; tested with CPython 3.11)
#
# The virtualenv gets notebooks/requirements.txt; the install is skipped while the requirements' SHA-256
# matches the stamp file it leaves in the virtualenv.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 RESULTS_DIR" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
notebook="$here/compare_rhetoric.ipynb"
requirements="$here/requirements.txt"

if [[ ! -d "$1" ]]; then
  echo "run.sh: results folder '$1' does not exist (run 'make demo' first: it writes out/)" >&2
  exit 2
fi
results="$(cd "$1" && pwd)"
if [[ ! -f "$results/documents.parquet" ]]; then
  echo "run.sh: $results has no documents.parquet: is it a folder written by 'rhetor analyze'?" >&2
  exit 2
fi

venv="${RHETOR_NOTEBOOK_VENV:-$HOME/.cache/rhetor/notebook-venv}"
python="${PYTHON:-python3}"
stamp="$venv/.rhetor-requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

# (Re)create the virtualenv when it is missing or its interpreter no longer runs.
if ! "$venv/bin/python" -c "" >/dev/null 2>&1; then
  echo "run.sh: creating the virtualenv $venv" >&2
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv --clear "$venv"
  rm -f "$stamp"
fi

if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  echo "run.sh: installing notebooks/requirements.txt into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r "$requirements"
  # A python3 kernel spec inside the virtualenv that names the virtualenv's own interpreter; JUPYTER_PATH
  # below puts it ahead of any python3 kernel another Jupyter installation may have registered.
  "$venv/bin/python" -m ipykernel install --prefix "$venv" --name python3 \
    --display-name "Python 3 (rhetor notebook)" >/dev/null
  echo "$want" >"$stamp"
fi

export RHETOR_RESULTS="$results"
# The binary the notebook's `rhetor compare` cell runs (this checkout's release build by default).
export RHETOR_BIN="${RHETOR_BIN:-$here/../target/release/rhetor}"
export JUPYTER_PATH="$venv/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export MPLBACKEND=Agg

"$venv/bin/python" - "$notebook" "$results" <<'PY'
import os
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

notebook, results = Path(sys.argv[1]), Path(sys.argv[2])
out = results / "compare_rhetoric.executed.ipynb"

# The kernel must be this virtualenv's interpreter (jupyter_client runs a bare "python" as sys.executable).
argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
kernel_python = sys.executable if argv0 in ("python", "python3") else os.path.abspath(argv0)
if os.path.commonpath([kernel_python, sys.prefix]) != sys.prefix:
    sys.exit(f"run.sh: the python3 kernel runs {kernel_python}, not this virtualenv's python ({sys.prefix})")

nb = nbformat.read(notebook, as_version=4)
client = NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": str(notebook.parent)}})
start = time.monotonic()
try:
    client.execute()
except Exception as err:  # CellExecutionError, a timeout, a dead kernel
    nbformat.write(nb, out)
    print(err, file=sys.stderr)
    print(f"run.sh: the notebook failed; the partly executed copy is {out}", file=sys.stderr)
    sys.exit(1)
nbformat.write(nb, out)
figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
print(f"run.sh: executed {notebook.name} in {time.monotonic() - start:.1f} s with kernel {kernel_python}: "
      f"{figures} figures; wrote {out}")
PY
