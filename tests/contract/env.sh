# Sourced (POSIX sh):  . tests/contract/env.sh; contract_env PORT HOME_DIR
# (bash also takes  . tests/contract/env.sh PORT HOME_DIR)
#
# Points the real claude, codex and gemini CLIs at the mock model API on
# 127.0.0.1:PORT, with HOME_DIR (created if needed, must be private: never the
# real home) as $HOME, so no real ~/.claude, ~/.codex or ~/.gemini is read or
# written.  Everything else is sent to a dead proxy (127.0.0.1:9).
#
# Exports: HOME, XDG_*, CODEX_HOME, the API keys and base URLs, the proxy
# variables, and CLAUDE_BIN/CODEX_BIN/GEMINI_BIN when the install cache has
# them (plus the OVERMIND_*_BIN names for Overmind).
# Writes: $CODEX_HOME/config.toml and $HOME/.gemini/settings.json (only when
# they do not exist yet, so a test may write its own first).

contract_env() {
  _ce_port=$1
  _ce_home=$2
  if [ -z "$_ce_port" ] || [ -z "$_ce_home" ]; then
    echo "usage: . tests/contract/env.sh PORT HOME_DIR" >&2
    return 2
  fi
  mkdir -p "$_ce_home" || return 1
  _ce_home=$(cd "$_ce_home" && pwd)
  if [ -n "${HOME:-}" ] && [ "$_ce_home" = "$(cd "$HOME" 2>/dev/null && pwd)" ] &&
     [ -z "${CONTRACT_HOME:-}" ]; then
    echo "contract env: refusing to use the real HOME ($HOME)" >&2
    return 1
  fi
  export CONTRACT_PORT="$_ce_port" CONTRACT_HOME="$_ce_home"
  export HOME="$_ce_home"
  export XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$HOME/.cache" \
         XDG_DATA_HOME="$HOME/.local/share" XDG_STATE_HOME="$HOME/.local/state"
  # The CLIs leave files in the temporary directory (claude: claude-<uid>/,
  # cc-socks/; gemini: gemini-client-error-*.json; codex: codex-*): keep
  # them private too.  It also silences codex's "Refusing to create helper
  # binaries under temporary dir" warning (CODEX_HOME is not under it).
  export TMPDIR="$HOME/tmp"
  # codex makes codex-daemon-<uid>/ in $XDG_RUNTIME_DIR, else in /tmp
  export XDG_RUNTIME_DIR="$HOME/run"
  mkdir -p "$TMPDIR" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR" &&
    chmod 700 "$XDG_RUNTIME_DIR"
  _ce_url="http://127.0.0.1:$_ce_port"

  # nothing leaves but to the mock
  export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
         ALL_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
         https_proxy=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 \
         NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

  # claude
  export ANTHROPIC_BASE_URL="$_ce_url" ANTHROPIC_API_KEY=test \
         CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
         DISABLE_AUTOUPDATER=1 DISABLE_ERROR_REPORTING=1 \
         CLAUDE_CONFIG_DIR="$HOME/.claude"
  # claude retries a 5xx 10 times with backoff (minutes); fail at once
  # unless the test says otherwise
  export CLAUDE_CODE_MAX_RETRIES="${CLAUDE_CODE_MAX_RETRIES:-0}"
  unset ANTHROPIC_AUTH_TOKEN CLAUDE_CODE_OAUTH_TOKEN CLAUDE_CODE_USE_BEDROCK \
        CLAUDE_CODE_USE_VERTEX 2>/dev/null || true

  # codex
  export CODEX_HOME="$HOME/.codex" MOCK_API_KEY=test
  unset OPENAI_API_KEY OPENAI_BASE_URL CODEX_API_KEY 2>/dev/null || true
  mkdir -p "$CODEX_HOME"
  if [ ! -f "$CODEX_HOME/config.toml" ]; then
    cat > "$CODEX_HOME/config.toml" <<EOF
model_provider = "mock"

[model_providers.mock]
name = "mock"
base_url = "$_ce_url/v1"
env_key = "MOCK_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
EOF
  fi

  # gemini
  export GOOGLE_GEMINI_BASE_URL="$_ce_url" GEMINI_API_KEY=test
  unset GOOGLE_API_KEY GOOGLE_GENAI_USE_VERTEXAI GOOGLE_CLOUD_PROJECT \
        GOOGLE_APPLICATION_CREDENTIALS 2>/dev/null || true
  mkdir -p "$HOME/.gemini"
  if [ ! -f "$HOME/.gemini/settings.json" ]; then
    cat > "$HOME/.gemini/settings.json" <<'EOF'
{
  "security": { "auth": { "selectedType": "gemini-api-key" } },
  "general": { "enableAutoUpdate": false, "enableAutoUpdateNotification": false,
               "maxAttempts": 1 },
  "privacy": { "usageStatisticsEnabled": false },
  "telemetry": { "enabled": false }
}
EOF
  fi

  # executables from the install cache, when there
  for _ce_f in "${CONTRACT_CACHE:-}/bin.env" \
               "${CONTRACT_DIR:-tests/contract}/../../.cache/contract-npm/bin.env"; do
    if [ -f "$_ce_f" ]; then . "$_ce_f"; break; fi
  done
  if [ -n "${CLAUDE_BIN:-}" ]; then
    export CLAUDE_BIN CODEX_BIN GEMINI_BIN
    export OVERMIND_CLAUDE_BIN="$CLAUDE_BIN" OVERMIND_CODEX_BIN="$CODEX_BIN" \
           OVERMIND_GEMINI_BIN="$GEMINI_BIN"
  fi
  return 0
}

case ${1:-}:${2:-} in
  [0-9]*:?*) contract_env "$1" "$2" ;;
esac
