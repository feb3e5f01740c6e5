#!/usr/bin/env bash
# paper-b-small end to end (docs/reproduce.md): scripts/run_paper_b_small.sh [--vanilla] [--cpu-rehearsal] [run_paper.sh options]
# The model defaults to models/gpt2 (a Hugging Face folder; MODEL=... or --model to change it).
exec "$(dirname "$0")/run_paper.sh" --preset paper-b-small --model "${MODEL:-models/gpt2}" "$@"
