#!/usr/bin/env bash
# Runs every test of lmmspark: engine unit tests, jobs tests with a local[2] Spark, and the
# integration tests (a real standalone cluster on 127.0.0.1). Fetches what it needs by itself:
# Maven dependencies (native OpenBLAS among them on linux-x86_64), and elsewhere a system BLAS when
# the machine allows (optional).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-native-blas.sh
export OPENBLAS_NUM_THREADS=1
mvn -B verify "$@"
