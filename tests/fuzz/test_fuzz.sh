#!/bin/bash
# The short fuzz run of `make test`: every target for 30 s (FUZZ_SECONDS).
exec env FUZZ_SECONDS="${FUZZ_SECONDS:-30}" "$(dirname "$0")/run"
