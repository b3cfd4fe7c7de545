#!/usr/bin/env bash
# Fails (exit 1, listing file:line) when a tracked file outside docs/ cites a document a clone of this repository
# does not contain: the project's old shared reference notes or its old style sheet. Cite a file in docs/ (by
# section name) or a public source instead; docs/ itself may name public files of the same name.
# The file list is `git ls-files`, so untracked and ignored files (target/, fuzz corpora) are never read.
# Usage: scripts/check-citations.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Written with character classes so that this script does not match itself.
outside='shared[/]reference|[.][.]/shared|STYLE[.]md'
names='arm-aks-api|az-cli-aks|az-oracle|kubelogin|kubectl-wire|graph-groups|rust-deps|entra-signin|azure-rbac'
# A bare reference file name (not docs/<name>.md) on a line with a section sign.
numbered="(^|[^/[:alnum:]_-])($names)[.]md.*§|§.*(^|[^/[:alnum:]_-])($names)[.]md"

found=$(git ls-files -z -- . ':(exclude)docs/' \
  | xargs -0 grep -nIE -e "$outside" -e "$numbered" -- 2>/dev/null || true)
if [ -n "$found" ]; then
  printf '%s\n' "$found" | cut -c1-200
  echo "check-citations: $(printf '%s\n' "$found" | wc -l) citation(s) of documents outside the repository;" \
    "point them at docs/<topic>.md (section name) or a public source" >&2
  exit 1
fi
echo "check-citations: no citation outside the repository"
