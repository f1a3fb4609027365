#!/usr/bin/env bash
# Sourced by demo.sh and test.sh: make .venv and install the project into it (again only when
# pyproject.toml changes), so that both README commands work on a fresh clone.

ensure_venv() {
    local extras="${1:-}" spec="." stamp
    [[ -n "$extras" ]] && spec=".[$extras]"
    if [[ ! -x .venv/bin/python ]]; then
        echo "==> creating .venv with $(command -v python3)"
        python3 -m venv .venv
    fi
    stamp=".venv/.tiermall-installed-${extras:-base}-$(cksum < pyproject.toml | cut -d' ' -f1)"
    if [[ ! -f "$stamp" ]]; then
        echo "==> pip install -e '$spec'"
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e "$spec"
        rm -f .venv/.tiermall-installed-"${extras:-base}"-*
        touch "$stamp"
    fi
}
