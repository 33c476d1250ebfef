# Sourced: redis_use exports BILLTONE_TEST_REDIS_URL, a Redis server on this machine for the
# tests that run a real Celery worker (billing/tests/test_processes.py). It uses the server on
# 127.0.0.1:6379 when it answers, otherwise starts a throwaway one (Debian's redis-server,
# installed when missing) on port 63799 without persistence, stopped when the calling shell
# exits. Call it in the shell itself, not in $(…): a subshell's exit would stop the server.
REDIS_HOST=127.0.0.1

redis_answers() { (exec 3<>"/dev/tcp/$REDIS_HOST/$1") 2>/dev/null; }

redis_use() {
  if [ -n "${BILLTONE_TEST_REDIS_URL:-}" ]; then return; fi
  local port=6379
  if ! redis_answers "$port"; then
    port=63799
    if ! redis_answers "$port"; then
      command -v redis-server >/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
      local pidfile="$PWD/.redis-throwaway.pid"
      redis-server --bind "$REDIS_HOST" --port "$port" --save "" --appendonly no \
        --daemonize yes --pidfile "$pidfile" >/dev/null
      for _ in $(seq 50); do redis_answers "$port" && break; sleep 0.1; done
      # Added to the shell's EXIT trap (postgres.sh may have set one), not replacing it.
      local previous
      previous=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
      trap "${previous:+$previous; }kill \$(cat '$pidfile') 2>/dev/null" EXIT
    fi
  fi
  export BILLTONE_TEST_REDIS_URL="redis://$REDIS_HOST:$port/0"
}
