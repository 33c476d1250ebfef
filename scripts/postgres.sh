# Sourced: postgres_use sets POSTGRES_URL to a PostgreSQL server on this machine. It uses
# BILLTONE_PG_URL when set, else the server on 127.0.0.1:5432 when it answers, otherwise
# starts a throwaway one from Debian's postgresql binaries in .pg-throwaway/ (stopped when the
# calling shell exits). Call it in the shell itself, not in $(…): a subshell's exit would
# stop the throwaway server at once.
PG_HOST=127.0.0.1

pg_answers() { (exec 3<>"/dev/tcp/$PG_HOST/$1") 2>/dev/null; }

postgres_use() {
  if [ -n "${BILLTONE_PG_URL:-}" ]; then POSTGRES_URL="$BILLTONE_PG_URL"; return; fi
  if pg_answers 5432; then POSTGRES_URL="postgres://postgres@$PG_HOST:5432/billtone"; return; fi
  local port=54329 dir="$PWD/.pg-throwaway"
  if ! pg_answers "$port"; then
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres
    rm -rf "$dir" && install -d -o postgres "$dir"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-p $port -k $dir -c listen_addresses=$PG_HOST -c fsync=off" start >/dev/null
    # Added to the shell's EXIT trap, not replacing one set before.
    local previous
    previous=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
    trap "${previous:+$previous; }runuser -u postgres -- '$bin/pg_ctl' -D '$dir/data' -m fast stop >/dev/null" EXIT
  fi
  POSTGRES_URL="postgres://postgres@$PG_HOST:$port/billtone"
}
