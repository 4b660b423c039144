#!/usr/bin/env bash
# Installs native BLAS/LAPACK (Debian's OpenBLAS) when it is missing and this is a root Debian/Ubuntu
# machine. Optional: without it lmmspark runs on dev.ludovic.netlib's Java fallback, 10-50x slower for
# the GRM, and says so in every log ("BLAS=... Java fallback").
set -u
if ldconfig -p 2>/dev/null | grep -q 'libblas.so.3'; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "install-native-blas: installing libopenblas0-pthread (native BLAS for lmmspark)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread) >/dev/null 2>&1 \
    || echo "install-native-blas: could not install; lmmspark will use its Java BLAS fallback" >&2
else
  echo "install-native-blas: no libblas.so.3 found; install libopenblas0 (Debian/Ubuntu) for native speed" >&2
fi
exit 0
