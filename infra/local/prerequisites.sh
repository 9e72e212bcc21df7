#!/usr/bin/env bash
# What the local servers (and the tests) need, checked all at once: the one list that `npm start`,
# `.ci/run` and README use. Prints the one command that installs what is missing on this platform.
#   bash infra/local/prerequisites.sh            check what `npm start` needs
#   bash infra/local/prerequisites.sh --tests    also what the tests need (Chromium, Python venv)
#   bash infra/local/prerequisites.sh --install  install what is missing (Debian/Ubuntu, as root)
#   bash infra/local/prerequisites.sh --install-start  install only what `npm start` needs (npm start does this as root)
set -uo pipefail
tests=false install=false
for arg in "$@"; do
  case "$arg" in
    --tests) tests=true ;;
    --install) install=true tests=true ;;
    --install-start) install=true ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

missing=() apt=() brew=()
need() { # <what> <apt package> <brew formula>
  missing+=("$1"); [[ -n "$2" ]] && apt+=("$2"); [[ -n "$3" ]] && brew+=("$3")
}
command -v redis-server >/dev/null || need redis-server redis-server redis
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
[[ -n "$java_major" && "$java_major" -ge 17 ]] || need "Java 17+ (runs Kafka)" openjdk-17-jre-headless openjdk@17
command -v mvn >/dev/null || need "Maven (fetches Kafka's jars)" maven maven
# A real mongod wins; otherwise FerretDB is built with Go (Homebrew has a real mongod).
if ! command -v mongod >/dev/null; then
  command -v go >/dev/null || need "mongod, or Go 1.22+ to build FerretDB" "" mongodb/brew/mongodb-community
  # FerretDB stores its data in PostgreSQL (SUITE_FERRETDB_BACKEND=sqlite does without, much slower).
  if [[ "${SUITE_FERRETDB_BACKEND:-postgresql}" == postgresql ]] && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    need "PostgreSQL (FerretDB's storage)" postgresql ""
  fi
fi
if $tests; then
  command -v chromium >/dev/null || [[ -x /usr/bin/chromium ]] || need "Chromium (browser test)" chromium ""
  python3 -c 'import ensurepip, venv' 2>/dev/null || need "Python venv (API fuzz test)" python3-venv ""
fi

((${#missing[@]} == 0)) && exit 0
if $install && command -v apt-get >/dev/null && ((${#apt[@]})); then
  echo "installing: ${apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt[@]}" >/dev/null || exit 1
  exec bash "$0" $($tests && echo --tests)
fi
echo "Missing: $(printf '%s; ' "${missing[@]}" | sed 's/; $//')." >&2
if [[ "$(uname -s)" == Darwin ]]; then
  ((${#brew[@]})) && echo "Install them with:  brew install ${brew[*]}" >&2
else
  ((${#apt[@]})) && echo "Install them with:  sudo apt-get install -y ${apt[*]}" >&2
  if [[ " ${missing[*]} " == *"Go 1.22+"* ]]; then
    echo "Go 1.22+ from https://go.dev/dl (Debian 12's golang-go is 1.19, too old), or a mongod on PATH." >&2
  fi
fi
exit 1
