#!/usr/bin/env bash
# paper-b-xl end to end (docs/reproduce.md): scripts/run_paper_b_xl.sh [--vanilla] [--cpu-rehearsal] [run_paper.sh options]
# The model defaults to models/gpt2-xl (a Hugging Face folder; MODEL=... or --model to change it).
exec "$(dirname "$0")/run_paper.sh" --preset paper-b-xl --model "${MODEL:-models/gpt2-xl}" "$@"
