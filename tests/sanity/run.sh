#!/usr/bin/env bash
# ansible-test sanity on a copy of the tree laid out as ansible_collections/certfleet/acme
# (ansible-test insists on that path), with the venv's Python 3.11. ansible-test builds a venv per
# sanity test and bootstraps pip into it with a script it downloads from a host outside the package
# registries; tests/sanity/get_pip_shim.py, put in that script's cache place, does the same from
# Python's ensurepip and PyPI.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/.build/sanity/ansible_collections/certfleet/acme"
reqs="$(python -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_data", "requirements"))')"
pip_version="$(grep -oP "pip='\K[0-9.]+" "$(dirname "$reqs")/../_internal/python_requirements.py" | head -n 1)"
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"; cmp -s "$root/tests/sanity/get_pip_shim.py" "$cache" || cp "$root/tests/sanity/get_pip_shim.py" "$cache"
# ansible-test skips its shellcheck test when the program is missing.
command -v shellcheck >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
rm -rf "$dest"
mkdir -p "$dest"
(cd "$root" && git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- ./ "$dest/")
cd "$dest"
# A git repo lets ansible-test list the files exactly as committed/untracked above.
git init -q && git add -A >/dev/null 2>&1
skip=(
  --skip-test shebang            # bench/ and tests/ scripts use /usr/bin/env bash
)
exec ansible-test sanity --color no --python 3.11 "${skip[@]}" "$@"
