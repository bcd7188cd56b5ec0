# Shared by scripts/fetch-model.sh and scripts/fetch-embed-model.sh: sourced, not run.
# The caller sets ME (its name, for messages) and MODELS (the model cache folder) first.

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

fail() {
    echo "$ME: $*" >&2
    exit 1
}

# Checks that the tools are there and makes the work folder $WORK in $MODELS (removed on exit,
# so a failed fetch leaves nothing behind; on the same file system, so the result moves in
# atomically).
start_work() {
    local tool
    for tool in python3 sha256sum; do
        command -v "$tool" >/dev/null || fail "$tool is required"
    done
    mkdir -p "$MODELS"
    WORK="$(mktemp -d "$MODELS/.fetch.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
}

# pip_download SPEC...: each package (no dependencies, no pip cache) into $WORK/dl.
pip_download() {
    local spec
    for spec in "$@"; do
        echo "$ME: downloading $spec" >&2
        python3 -m pip download --quiet --no-deps --no-cache-dir "$spec" -d "$WORK/dl" >&2
    done
}

# check_sha FILE SHA256: fails naming both digests when FILE has another.
check_sha() {
    local got
    got="$(sha_of "$1")"
    [[ "$got" == "$2" ]] || fail "$(basename "$1") sha256 mismatch: expected $2, got $got"
}
