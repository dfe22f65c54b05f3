#!/usr/bin/env bash
# End-to-end check of repolens in a real Helix, driven through tmux. Not part of CI (it needs a
# Helix newer than Debian bookworm ships); run it before changing the Helix integration:
#
#   editors/helix/check.sh [path/to/repolens]     # default: target/release/repolens
#
# Helix comes from Debian sid's `hx` package, run with sid's own C library and loader so it works
# on an older system. Everything lives under $HX_HOME (default /tmp/repolens-helix); the user's
# Helix configuration is not read (XDG_CONFIG_HOME points at a scratch directory).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
server=$(realpath "${1:-$repo/target/release/repolens}")
home=${HX_HOME:-/tmp/repolens-helix}
root=$home/root
session=repolens-helix-$$

fail() { echo "FAIL: $*" >&2; tmux capture-pane -t "$session" -p >&2 || true; exit 1; }

install_helix() {
  [ -x "$root/usr/bin/hx" ] && return
  echo "installing Helix from Debian sid under $home" >&2
  mkdir -p "$home/lists/partial" "$home/cache/archives/partial" "$root"
  echo "deb http://deb.debian.org/debian sid main" >"$home/sources.list"
  local apt=(-o "Dir::Etc::sourcelist=$home/sources.list" -o Dir::Etc::sourceparts=-
    -o "Dir::State::Lists=$home/lists" -o "Dir::Cache=$home/cache")
  apt-get -qq "${apt[@]}" update
  (cd "$home" && apt-get -qq "${apt[@]}" download hx libc6 libgcc-s1)
  for deb in "$home"/*.deb; do dpkg-deb -x "$deb" "$root"; done
}

hx() {
  "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
    --library-path "$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin/hx" "$@"
}

# Waits until the screen shows a pattern (Helix and the server answer asynchronously).
expect_screen() {
  local pattern=$1 what=$2
  for _ in $(seq 1 50); do
    tmux capture-pane -t "$session" -p | grep -qE "$pattern" && { echo "ok: $what"; return; }
    sleep 0.2
  done
  fail "$what (screen never showed /$pattern/)"
}

install_helix
[ -x "$server" ] || { echo "no repolens binary at $server (cargo build --release)" >&2; exit 1; }
hx --version

work=$(mktemp -d)
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/proj/pkg" "$work/config/helix"
cat >"$work/proj/pkg/__init__.py" <<'PY'
from .shapes import Circle
PY
cat >"$work/proj/pkg/shapes.py" <<'PY'
class Shape:
    def area(self):
        raise NotImplementedError


class Circle(Shape):
    def __init__(self, radius):
        self.radius = radius

    def area(self):
        return 3.14159 * self.radius ** 2


def total_area(shapes):
    return sum(s.area() for s in shapes)
PY
(cd "$work/proj" && git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm init)
# The documented snippet, with the binary under test and a log file.
sed -e "s|^command = \"repolens\"|command = \"$server\"|" \
  -e "s|^args = \\[\"serve\"\\]|args = [\"serve\", \"--log-file\", \"$work/repolens.log\"]|" \
  -e 's|^language-servers = .*|language-servers = ["repolens"]|' \
  "$here/languages.toml" >"$work/config/helix/languages.toml"

cd "$work/proj"
tmux new-session -d -s "$session" -x 140 -y 35 \
  "env XDG_CONFIG_HOME=$work/config $root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $root/usr/lib/x86_64-linux-gnu $root/usr/bin/hx pkg/shapes.py"
expect_screen 'NOR +pkg/shapes.py' "Helix opened the file"

# Document symbols (space s): the outline comes from repolens.
sleep 1
tmux send-keys -t "$session" ' ' s
expect_screen 'function +total_area' "document symbols list total_area"
expect_screen 'method +__init__ +Circle' "document symbols nest methods under their class"
tmux send-keys -t "$session" Escape

# Workspace symbols (space S): fuzzy search across the repository.
tmux send-keys -t "$session" ' ' S
sleep 0.5
tmux send-keys -t "$session" 'Circ'
expect_screen 'class +Circle +pkg.shapes +pkg/shapes.py' "workspace symbols find Circle"
tmux send-keys -t "$session" Escape

# Ask: `:lsp-workspace-command repolens.ask "question"` opens the answer, with its citations.
tmux send-keys -t "$session" ':lsp-workspace-command repolens.ask "where is total_area defined"' Enter
expect_screen '^ +1 +# where is total_area defined' "repolens.ask opens the answer document"
expect_screen 'function `total_area` in `pkg/shapes.py`' "the answer names where total_area is defined"
expect_screen 'pkg/shapes.py:14-15' "the answer cites the lines"

if [ -n "${HELIX_SCREENSHOT:-}" ]; then tmux capture-pane -t "$session" -p >"$HELIX_SCREENSHOT"; fi
tmux send-keys -t "$session" ':q!' Enter
echo "Helix check passed"
