#!/usr/bin/env bash
# File formats, JSON, the data loader, gpt2_config and ln_paths table (tests/formats/).
set -uo pipefail
exec build/tests/formats/test_formats
