# Sourced by the Makefile and scripts: puts the project's Node (when bootstrap installed one),
# its helm/kubectl binaries and the vendored Yarn (scripts/bin/yarn) on PATH.
_kc_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -x "$_kc_root/.tools/node/bin/node" ]; then
  export PATH="$_kc_root/.tools/node/bin:$PATH"
fi
export PATH="$_kc_root/scripts/bin:$_kc_root/.tools/bin:$_kc_root/node_modules/.bin:$PATH"
# Native addons (better-sqlite3, cpu-features) must build against the headers of the Node we run,
# whatever nodedir the machine's npm config names.
_kc_node_dir=$(dirname "$(dirname "$(command -v node)")")
if [ -d "$_kc_node_dir/include/node" ]; then
  export npm_config_nodedir="$_kc_node_dir"
fi
unset _kc_node_dir
