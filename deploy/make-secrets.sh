#!/usr/bin/env sh
# Creates the compose secrets docker-compose.yml reads, once: random values in deploy/secrets/
# (git-ignored, the directory 0700). An existing file is never overwritten — the database and the
# keystore were made with it. For a real Bitcoin node, write its URL into bitcoin_rpc_url.
# The files are 0644 because compose bind-mounts them as they are and the containers run as
# uid 1000 (node), not as you; the 0700 directory keeps other users of this machine out.
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
chmod 700 "$dir"
random() { head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='; }
write() {
  if [ -e "$dir/$1" ]; then echo "kept    deploy/secrets/$1"; return; fi
  (umask 022; printf '%s\n' "$2" > "$dir/$1")
  echo "created deploy/secrets/$1"
}
if [ -e "$dir/postgres_password" ]; then postgres_password="$(cat "$dir/postgres_password")"; else postgres_password="$(random)"; fi
write postgres_password "$postgres_password"
write database_url "postgres://coffer:${postgres_password}@postgres:5432/coffer"
write keystore_passphrase "$(random)"
write bitcoin_rpc_url "http://coffer:$(random)@bitcoin:18443"
# The devnets' Alto bundler's executor key (a devnet key: fund its address as a refill target).
write alto_executor_key "0x$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
