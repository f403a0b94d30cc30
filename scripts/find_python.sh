#!/usr/bin/env sh
# Print the path of a Python >= 3.12 interpreter, or fail with a clear message.
# Tried in order: $PYTHON, python3.12/python3.13/python3 on PATH, then pyenv's installs.
works() {
    "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}
pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for candidate in "${PYTHON:-}" python3.12 python3.13 python3 \
    $(ls -d "$pyenv_root"/versions/3.12* "$pyenv_root"/versions/3.13* 2>/dev/null | sed 's|$|/bin/python3|'); do
    [ -n "$candidate" ] || continue
    if works "$candidate"; then
        # Resolve to a real path: pyenv shims only work while a version is selected.
        "$candidate" -c 'import sys; print(sys.executable)'
        exit 0
    fi
done
echo "error: no Python >= 3.12 found. Install one (for example 'pyenv install 3.12') or run: make PYTHON=/path/to/python3.12" >&2
exit 1
