# Steps the bench scripts share (http.sh, profile.sh, gateway.sh), sourced by them after they set BENCH_DIR
# and define say(). Installs what a fresh Debian machine lacks and builds the release binaries:
#
#   as_root CMD...              run CMD as root (directly, or through sudo)
#   apt_install PACKAGE...      apt-get install, with apt-get update first only if the plain install fails
#   ensure_venv                 bench/.venv with bench/requirements.txt, reinstalled only when that file changes
#   build_release PRODUCT...    swift build -c release --product PRODUCT, one build per product (unless
#                               GATEHOUSE_BENCH_SKIP_BUILD=1), from the repository root
#   release_bin_dir             print the directory of the release binaries
#   run_harness MODULE ARGS...  exec the Python module MODULE of bench/ (harness, harness.gateway, harness.stages)
#                               in the venv, from the repository root with bench/ on the module path
#   answer_help MODULE LINES "$@"  for -h or --help among the arguments: MODULE's help, or the calling script's
#                               header LINES (sed range) when the venv is not there yet; then exit
#
# Not executable on its own: it defines functions and the paths VENV, REQUIREMENTS and REPO_ROOT.

REPO_ROOT="$(dirname "$BENCH_DIR")"
VENV="$BENCH_DIR/.venv"
REQUIREMENTS="$BENCH_DIR/requirements.txt"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root (or sudo) to run: $*"; return 1
    fi
}

apt_install() {
    say "installing $*"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; then
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
    fi
}

# The Python packages, reinstalled only when requirements.txt changes (a stamp in the venv holds its hash).
ensure_venv() {
    local stamp="$VENV/.requirements.sha256" want
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "setting up $VENV"
        [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
        echo "$want" >"$stamp"
    fi
}

# `swift build --product` takes one product (a repeated --product is not a list), so each gets its own build;
# the later ones reuse what the first built. SwiftPM serialises concurrent builds of the package with a lock.
build_release() {
    [ "${GATEHOUSE_BENCH_SKIP_BUILD:-0}" != 1 ] || return 0
    local product
    for product in "$@"; do
        say "swift build -c release --product $product"
        (cd "$REPO_ROOT" && swift build -c release --product "$product")
    done
}

release_bin_dir() {
    (cd "$REPO_ROOT" && swift build -c release --show-bin-path)
}

run_harness() {
    local module="$1"
    shift
    exec env PYTHONPATH="$BENCH_DIR${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" -m "$module" "$@"
}

# --help needs nothing installed.
answer_help() {
    local module="$1" lines="$2" arg
    shift 2
    for arg in "$@"; do
        case "$arg" in -h|--help)
            if [ -x "$VENV/bin/python" ]; then run_harness "$module" --help; fi
            sed -n "${lines}p" "$0"
            exit 0 ;;
        esac
    done
}
