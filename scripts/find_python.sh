# Sourced by the wheel scripts: find_python 3.X prints the interpreter for
# Python 3.X, the newest patch release that pyenv has, else python3.X on
# PATH, else nothing.
find_python() {
    local v=$1 root best
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    best=$(ls -d "$root"/versions/"$v".*/bin/python"$v" 2>/dev/null | sort -V | tail -n 1)
    [ -n "$best" ] || best=$(command -v "python$v" || true)
    printf '%s' "$best"
}
