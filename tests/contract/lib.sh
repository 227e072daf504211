# Sourced (POSIX sh) by the contract scripts:  CONTRACT_DIR=tests/contract
#   . "$CONTRACT_DIR/lib.sh"
#
#   contract_tmp            make a private temporary directory, print its path
#                           (under $CONTRACT_TMP, default $TMPDIR or /tmp; never
#                           inside a git work tree: codex and claude look for one)
#   contract_private_dir    a directory (printed) for files that gemini reads only
#                           when no parent is writable by others (system
#                           settings): <repo>/.cache/contract-private/<pid>
#   contract_start_mock LOG start the mock API on a free port of 127.0.0.1;
#                           sets CONTRACT_MOCK_PID and CONTRACT_PORT
#   contract_stop_mock      stop it (by its pid)
#   contract_setup PORT DIR . env.sh for PORT with DIR/home as HOME, and make
#                           DIR/work, the folder to run the CLIs in
#   contract_leftovers_before / contract_leftovers_after   see below
#   contract_run SECS OUT ERR CMD...   run CMD with stdin /dev/null, a time
#                           limit (timeout -k 5), stdout and stderr to files;
#                           returns CMD's exit code (124 on timeout)

CONTRACT_DIR=${CONTRACT_DIR:-tests/contract}
CONTRACT_DIR=$(cd "$CONTRACT_DIR" && pwd)
CONTRACT_REPO=$(cd "$CONTRACT_DIR/../.." && pwd)
export CONTRACT_DIR CONTRACT_REPO
: "${CONTRACT_CACHE:=$CONTRACT_REPO/.cache/contract-npm}"
export CONTRACT_CACHE

contract_tmp() {
  mktemp -d "${CONTRACT_TMP:-${TMPDIR:-/tmp}}/overmind-contract.XXXXXX"
}

# codex 0.171 makes an empty /tmp/codex-daemon-<uid>/ whatever TMPDIR and
# XDG_RUNTIME_DIR say.  contract_leftovers_before notes whether it was
# there; contract_leftovers_after removes it if this run made it (rmdir: only
# when it is empty).
contract_leftovers_before() {
  _cl_dir=/tmp/codex-daemon-$(id -u)
  if [ -e "$_cl_dir" ]; then _cl_had=1; else _cl_had=0; fi
}

contract_leftovers_after() {
  if [ "${_cl_had:-1}" = 0 ] && [ -d "$_cl_dir" ]; then rmdir "$_cl_dir" 2>/dev/null; fi
  return 0
}

contract_private_cleanup() {
  rm -rf "$CONTRACT_REPO/.cache/contract-private/$$"
  rmdir "$CONTRACT_REPO/.cache/contract-private" 2>/dev/null
  return 0
}

contract_private_dir() {
  _cp=$CONTRACT_REPO/.cache/contract-private/$$
  mkdir -p "$_cp" && chmod 700 "$CONTRACT_REPO/.cache/contract-private" "$_cp" &&
    echo "$_cp"
}

contract_start_mock() {
  _cm_log=$1
  _cm_portfile="$_cm_log.port"
  rm -f "$_cm_portfile"
  node "$CONTRACT_DIR/mock/server.js" --port 0 --log "$_cm_log" \
    > "$_cm_portfile" 2>> "$_cm_log.stderr" &
  CONTRACT_MOCK_PID=$!
  _cm_i=0
  while [ ! -s "$_cm_portfile" ] && [ $_cm_i -lt 100 ]; do
    if ! kill -0 "$CONTRACT_MOCK_PID" 2>/dev/null; then break; fi
    sleep 0.05; _cm_i=$((_cm_i + 1))
  done
  CONTRACT_PORT=$(head -n 1 "$_cm_portfile" 2>/dev/null)
  case $CONTRACT_PORT in
    ''|*[!0-9]*)
      echo "contract: the mock did not start (see $_cm_log.stderr)" >&2
      kill "$CONTRACT_MOCK_PID" 2>/dev/null
      return 1 ;;
  esac
  export CONTRACT_PORT CONTRACT_MOCK_PID
}

contract_stop_mock() {
  if [ -n "${CONTRACT_MOCK_PID:-}" ]; then
    kill "$CONTRACT_MOCK_PID" 2>/dev/null
    wait "$CONTRACT_MOCK_PID" 2>/dev/null
    CONTRACT_MOCK_PID=
  fi
}

contract_setup() {
  _cs_port=$1 _cs_dir=$2
  set --
  mkdir -p "$_cs_dir/home" "$_cs_dir/work" &&
    . "$CONTRACT_DIR/env.sh" && contract_env "$_cs_port" "$_cs_dir/home"
}

contract_run() {
  _cr_secs=$1 _cr_out=$2 _cr_err=$3
  shift 3
  timeout -k 5 "$_cr_secs" "$@" > "$_cr_out" 2> "$_cr_err" < /dev/null
}
