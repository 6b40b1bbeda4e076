#!/usr/bin/env bash
# Builds the release archive: one gatehouse binary with the Swift runtime linked in
# (--static-swift-stdlib), stripped, packed with a short README, the license and the licenses
# of what is linked in, as dist/gatehouse-VERSION-linux-ARCH.tar.gz with a .sha256 beside it.
# Prints the binary's size, the system libraries it still needs and its start-up time.
#
# The binary needs no Swift toolchain. It links these Debian/Ubuntu libraries dynamically:
# glibc, libstdc++6, zlib1g, libsqlite3-0 and libcurl4 (the Swift runtime's networking module
# pulls it in), all present on common server images.
set -euo pipefail
cd "$(dirname "$0")/.."

# Linking the Swift runtime statically needs the development files of the libraries it uses.
missing=()
[ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
[ -e /usr/lib/"$(uname -m)"-linux-gnu/libcurl.so ] || missing+=(libcurl4-openssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
    echo "release: installing ${missing[*]} from Debian" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

swift build -c release --product gatehouse --static-swift-stdlib
built="$(swift build -c release --show-bin-path)/gatehouse"
version="$("$built" --version)"
arch="$(uname -m)"
name="gatehouse-$version-linux-$arch"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name"
cp "$built" "$stage/$name/gatehouse"
strip "$stage/$name/gatehouse"
cp LICENSE "$stage/$name/LICENSE"
{
    echo "Gatehouse $version links these libraries into its binary; their licenses follow."
    for checkout in .build/checkouts/*; do
        license="$(find "$checkout" -maxdepth 1 -iname 'LICENSE*' | head -n 1)"
        [ -n "$license" ] || continue
        printf '\n==== %s ====\n\n' "$(basename "$checkout")"
        cat "$license"
    done
    printf '\n==== Swift runtime and Foundation ====\n\n'
    cat "$(dirname "$(dirname "$(command -v swift)")")/share/swift/LICENSE.txt"
} > "$stage/$name/THIRD_PARTY_LICENSES"
cat > "$stage/$name/README" <<README
Gatehouse $version for Linux ($arch): real OAuth in front of MCP servers, in one binary.

  ./gatehouse hub            an MCP hub with its own OAuth authorization server on http://127.0.0.1:8884/mcp
  ./gatehouse --help         every command, each with an example

The binary carries the Swift runtime. It needs glibc, libstdc++6, zlib1g, libsqlite3-0 and
libcurl4 (Debian/Ubuntu package names), present on common server images.

Install: copy gatehouse to /usr/local/bin. Shell completions:
  gatehouse --generate-completion-script bash > /etc/bash_completion.d/gatehouse
Deployment (systemd, nginx, Caddy): docs/deploy.md in the source repository.
License: Apache 2.0 (LICENSE); linked libraries: THIRD_PARTY_LICENSES.
README

mkdir -p dist
tar -C "$stage" -czf "dist/$name.tar.gz" "$name"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")

binary="$stage/$name/gatehouse"
echo "release: dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1) packed, binary $(du -h "$binary" | cut -f1) stripped)"
echo "release: system libraries it loads: $(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
if ldd "$binary" | grep -q 'libswift\|libFoundation\|libdispatch'; then
    echo "release: the binary still needs the Swift toolchain's libraries:" >&2
    ldd "$binary" | grep 'libswift\|libFoundation\|libdispatch' >&2
    exit 1
fi
# Start-up: from exec to --version, and to a hub answering /healthz (on a scratch database).
python3 - "$binary" <<'PY'
import json, os, socket, subprocess, sys, tempfile, time, urllib.request
binary = sys.argv[1]
env = {"PATH": "/usr/bin:/bin", "HOME": tempfile.mkdtemp()}
start = time.monotonic()
subprocess.run([binary, "--version"], check=True, capture_output=True, env=env)
version_ms = (time.monotonic() - start) * 1000
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
workdir = tempfile.mkdtemp()
start = time.monotonic()
hub = subprocess.Popen([binary, "hub", "--port", str(port), "--database-path", f"{workdir}/hub.db"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=workdir)
try:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if json.load(answer).get("status") == "ok":
                    break
        except OSError:
            if time.monotonic() - start > 20:
                sys.exit("release: the hub did not answer /healthz within 20 s")
            time.sleep(0.01)
    healthy_ms = (time.monotonic() - start) * 1000
finally:
    hub.terminate()
    hub.wait(timeout=10)
print(f"release: start-up: --version in {version_ms:.0f} ms; a hub on a new database answers /healthz after {healthy_ms:.0f} ms")
PY
echo "dist/$name.tar.gz"
