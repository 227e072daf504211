# Sourced (POSIX sh) by the contract scripts:  CONTRACT_DIR=tests/contract
#   . "$CONTRACT_DIR/lib.sh"
#
#   contract_tmp            make a private temporary directory, print its path
#                           (under $CONTRACT_TMP, default <repo>/.cache/contract-tmp:
#                           not under the world-writable /tmp, see README.md)
#   contract_start_mock LOG start the mock API on a free port of 127.0.0.1;
#                           sets CONTRACT_MOCK_PID and CONTRACT_PORT
#   contract_stop_mock      stop it (by its pid)
#   contract_setup PORT DIR . env.sh for PORT with DIR/home as HOME, and make
#                           DIR/work, the folder to run the CLIs in
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
  _ct_root=${CONTRACT_TMP:-$CONTRACT_REPO/.cache/contract-tmp}
  mkdir -p "$_ct_root" && chmod 700 "$_ct_root" &&
    mktemp -d "$_ct_root/run.XXXXXX"
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
