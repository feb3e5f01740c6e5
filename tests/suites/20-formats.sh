#!/usr/bin/env bash
# File formats, JSON, the data loader, gpt2_config and ln_paths table (tests/formats/).
# needs: build/tests/formats/test_formats
set -uo pipefail
. tests/lib.sh
run build/tests/formats/test_formats
report formats
