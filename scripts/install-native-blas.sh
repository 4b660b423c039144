#!/usr/bin/env bash
# Native BLAS for lmmspark: needed by nobody on linux-x86_64, where the build carries OpenBLAS
# (org.bytedeco:openblas from Maven Central, extracted to ~/.javacpp/cache at first use, no root).
# On other platforms (the build has no bundled natives for them unless built with
# -Djavacpp.platform=...), lmmspark uses the system's libblas.so.3 when there is one and
# dev.ludovic.netlib's Java fallback otherwise (20-50x slower for level 3); this script installs
# Debian's OpenBLAS there when it can (root, apt-get). Optional in every case; every log says which
# BLAS ran ("BLAS=... (native: OpenBLAS ... bundled ...)" or "(Java fallback: ...)").
set -u
platform="$(uname -s | tr 'A-Z' 'a-z')-$(uname -m)"
if [ "$platform" = "linux-x86_64" ]; then
  exit 0  # the bundled OpenBLAS serves
fi
if ldconfig -p 2>/dev/null | grep -q 'libblas.so.3'; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "install-native-blas: no bundled OpenBLAS for $platform; installing libopenblas0-pthread" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread) >/dev/null 2>&1 \
    || echo "install-native-blas: could not install; lmmspark will use its Java BLAS fallback" >&2
else
  echo "install-native-blas: no bundled OpenBLAS for $platform and no libblas.so.3; install libopenblas0 (Debian/Ubuntu) for native speed" >&2
fi
exit 0
