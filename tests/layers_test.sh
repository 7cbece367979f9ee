#!/usr/bin/env bash
# The layers as includes: the core (the domain and the ports it owns) names
# no outer layer and no I/O library; storage names no server, simulator or
# app; the adapters name no server, storage, simulator or app. Prints each
# include that crosses a layer and fails on any.
set -uo pipefail
root=${1:?usage: layers_test.sh SOURCE_DIR}
cd "$root" || exit 2
bad=0
check() {  # check LAYER PATTERN DIR...
  local layer=$1 pattern=$2
  shift 2
  local hits
  hits=$(grep -rnE --include='*.hpp' --include='*.cpp' --include='*.h' "$pattern" "$@" 2>/dev/null)
  if [[ -n $hits ]]; then
    echo "FAIL: $layer includes an outer layer or I/O library:"
    echo "$hits" | sed 's/^/  /'
    bad=1
  else
    echo "PASS: $layer"
  fi
}
check "core" '#include +["<](ringside/(storage|server|delivery|sim|app|ami|esl|sip|webhook|adapters)/|boost/|SQLiteCpp|sqlite3|libpq-fe|spdlog/)' \
  src/core include/ringside/core
check "storage" '#include +["<](ringside/(server|sim|app|ami|esl|sip|webhook|adapters)/|boost/asio|boost/beast)' \
  src/storage include/ringside/storage
check "adapters" '#include +["<]ringside/(server|storage|sim|app)/' adapters
exit $bad
