#!/usr/bin/env bash
# The offline bundles a box installs from with no internet (`make bundle`, after `make wheel`):
#   dist/linli-bundle-amd64.tar.gz  dist/linli-bundle-arm64.tar.gz
# each holding, for Debian 12's Python 3.11 on that architecture:
#   wheels/            every package of requirements/box.txt, checked against its hashes,
#                      and the linli wheel (dist/wheel)
#   requirements.txt   the lock (plus the hash of any wheel built here from a checked sdist)
#   linli.txt          linli==<version> with the hash of its wheel
#   install-box.sh, deploy/ (units, journald, USB backup), BUNDLE, SHA256SUMS
# ARCHES="amd64" builds one (the tests build the host's only). PIP picks the pip to run;
# WHEEL_DIR (dist/wheel) is where the linli wheel is, OUT_DIR (dist) where bundles go.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHES=${ARCHES:-"amd64 arm64"}
PIP=${PIP:-.venv/bin/pip}
PY=${PY:-.venv/bin/python}
WHEEL_DIR=${WHEEL_DIR:-dist/wheel}
OUT_DIR=${OUT_DIR:-dist}
PYTHON_VERSION=3.11   # Debian 12 (bookworm), Raspberry Pi OS bookworm
GLIBC_MINOR=36        # Debian 12's glibc 2.36: manylinux wheels up to 2_36 run there

shopt -s nullglob
linli_wheels=("$WHEEL_DIR"/linli-*.whl)
[ ${#linli_wheels[@]} = 1 ] || { echo "make-bundle: run \`make wheel\` first (one wheel in $WHEEL_DIR)" >&2; exit 2; }
linli_wheel=${linli_wheels[0]}
version=$(basename "$linli_wheel" | cut -d- -f2)

for arch in $ARCHES; do
  case $arch in
    amd64) machine=x86_64 ;;
    arm64) machine=aarch64 ;;
    *) echo "make-bundle: unknown arch $arch (amd64 or arm64)" >&2; exit 2 ;;
  esac
  name=linli-bundle-$arch
  out=$OUT_DIR/$name
  rm -rf "$out" "$OUT_DIR/$name.tar.gz"
  mkdir -p "$out/wheels" "$out/deploy"

  # pip does not widen manylinux_2_X to the older tags itself: name them all.
  platforms=()
  for minor in $(seq "$GLIBC_MINOR" -1 17); do platforms+=(--platform "manylinux_2_${minor}_$machine"); done
  platforms+=(--platform "manylinux2014_$machine")
  if [ "$machine" = x86_64 ]; then
    platforms+=(--platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64
                --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64)
  fi
  # --no-deps: the lock is complete. Hashes are checked (the lock has them). A wheel is
  # taken whenever one fits; a package with only an sdist is downloaded (hash-checked) and
  # built below.
  "$PIP" download --quiet --disable-pip-version-check --no-deps --require-hashes \
    "${platforms[@]}" --python-version "$PYTHON_VERSION" --implementation cp \
    -r requirements/box.txt -d "$out/wheels"

  cp requirements/box.txt "$out/requirements.txt"
  for sdist in "$out"/wheels/*.tar.gz "$out"/wheels/*.zip; do
    "$PIP" wheel --quiet --disable-pip-version-check --no-deps -w "$out/wheels" "$sdist"
    rm -f "$sdist"
  done
  # A wheel built here: only a pure-Python one runs on every box; its hash joins the lock's
  # (the sdist it was built from was checked against the lock).
  "$PY" - "$out" <<'PY'
import hashlib, re, sys
from pathlib import Path

out = Path(sys.argv[1])
req = out / "requirements.txt"
text = req.read_text()
lock = set(re.findall(r"^\S+==\S+", text, re.M))
for whl in sorted((out / "wheels").glob("*.whl")):
    digest = hashlib.sha256(whl.read_bytes()).hexdigest()
    if digest in text:
        continue
    name, version = whl.name.split("-")[:2]
    if not whl.name.endswith("-none-any.whl"):
        sys.exit(f"make-bundle: {whl.name} was built here but is not pure Python")
    norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
    pin = next((p for p in lock if norm(p.split("==")[0]) == norm(name)), None)
    if pin is None:
        sys.exit(f"make-bundle: {whl.name} is not in the lock")
    text = re.sub(rf"^({re.escape(pin)}\b[^\n]*\\\n)", rf"\1    --hash=sha256:{digest} \\\n", text, count=1, flags=re.M)
    print(f"make-bundle: built {whl.name} from its checked sdist")
req.write_text(text)
PY

  cp "$linli_wheel" "$out/wheels/"
  echo "linli==$version --hash=sha256:$(sha256sum "$linli_wheel" | cut -d' ' -f1)" >"$out/linli.txt"
  install -m 755 deploy/install-box.sh "$out/install-box.sh"
  install -m 755 deploy/usb-backup.sh "$out/deploy/usb-backup.sh"
  install -m 644 deploy/*.service deploy/*.timer deploy/*.conf deploy/*.rules "$out/deploy/"
  {
    echo "arch=$arch"
    echo "python=$PYTHON_VERSION"
    echo "linli=$version"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  } >"$out/BUNDLE"
  (cd "$out" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS)
  tar --sort=name --owner=0 --group=0 --numeric-owner -czf "$OUT_DIR/$name.tar.gz" -C "$OUT_DIR" "$name"
  rm -rf "$out"
  echo "$OUT_DIR/$name.tar.gz: $(du -h "$OUT_DIR/$name.tar.gz" | cut -f1)"
done
