#!/usr/bin/env bash
# Installs what the tests need: MariaDB server and client, sysbench, PHP with mysqli, openssl,
# procps, Prometheus (the metrics tests scrape the proxy with it), MediaWiki 1.39 (Debian's
# package; it pulls apache2, which is never started), and the npm packages. Only
# checks (a few milliseconds) when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian installs mariadbd in sbin, which is not on a non-root PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

PACKAGES=(mariadb-server mariadb-client sysbench php-cli php-mysql mediawiki openssl procps util-linux prometheus openssh-server openssh-client)
COMMANDS=(mariadbd mariadb-install-db mariadb mariadb-admin sysbench php openssl ps setpriv prometheus promtool sshd)

missing_tools() {
  local name
  for name in "${COMMANDS[@]}"; do
    command -v "$name" >/dev/null 2>&1 || echo "$name"
  done
  # php-mysql ships an extension, not a command.
  if command -v php >/dev/null 2>&1 && ! php -r 'exit(extension_loaded("mysqli") ? 0 : 1);'; then
    echo "php-mysqli-extension"
  fi
  # mediawiki ships PHP sources, not a command.
  [[ -f /usr/share/mediawiki/maintenance/install.php ]] || echo "mediawiki"
}

install_packages() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing: $*" >&2
    echo "install-deps: run as root: apt-get update && apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing: $*; no apt-get here, install the equivalents of ${PACKAGES[*]} by hand" >&2
    exit 1
  fi
  # Package scripts do not start the services here; the tests start their own servers.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
  local still
  still=$(missing_tools)
  if [[ -n $still ]]; then
    echo "install-deps: still missing after apt-get install: $(echo $still)" >&2
    exit 1
  fi
}

did=()
missing=$(missing_tools)
if [[ -n $missing ]]; then
  install_packages $missing
  did+=("installed $(echo $missing) via apt-get")
fi

# A checkout whose lockfile moved since the last install needs the new packages too.
if [[ ! -d node_modules || ( -f package-lock.json && package-lock.json -nt node_modules/.package-lock.json ) ]]; then
  if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund
    did+=("ran npm ci")
  else
    npm install --no-audit --no-fund
    did+=("ran npm install")
  fi
fi

if [[ ${#did[@]} -eq 0 ]]; then
  echo "install-deps: all present (mariadb, sysbench, php-mysql, mediawiki, openssl, procps, prometheus, sshd, node_modules)"
else
  echo "install-deps: $(IFS=';'; echo "${did[*]}")"
fi
