#!/bin/sh
# Refuse to start the stack with missing, example or weak secrets. Run by the one-shot `stack-check`
# service before anything else starts (every service depends on it), and by tests/test_compose.py.
#
#   check-secrets.sh [SECRET_FILE ...]
#
# Checks every COFRE_STACK_* variable in the environment and every file given as an argument (the
# Docker secrets). A value is refused when it is empty, when it starts with "change-me" (the
# placeholders of .env.example), when a password, key or secret is shorter than 16 characters, or when it
# holds characters that would break the connection URLs it is put in. Exits 1 naming every bad value,
# never printing one.
set -eu

status=0
refuse() {
    echo "stack-check: $1" >&2
    status=1
}

check_value() { # NAME VALUE
    case "$2" in
        "") refuse "$1 is empty: set it in .env" ; return ;;
        change-me*) refuse "$1 still holds the example value of .env.example: generate one, e.g. openssl rand -hex 32" ; return ;;
    esac
    case "$1" in
        *_PASSWORD | *_KEY | *_SECRET) ;;
        *) return ;;
    esac
    if [ "${#2}" -lt 16 ]; then
        refuse "$1 is shorter than 16 characters"
    fi
    case "$2" in
        *[!A-Za-z0-9._~=-]*) refuse "$1 holds characters that break connection URLs: use letters, digits and ._~=- (openssl rand -hex 32)" ;;
    esac
}

names=$(env | sed -n 's/^\(COFRE_STACK_[A-Z0-9_]*\)=.*/\1/p' | sort)
if [ -z "$names" ]; then
    refuse "no COFRE_STACK_* variable in the environment: is .env next to docker-compose.yml?"
fi
for name in $names; do
    eval "value=\${$name}"
    check_value "$name" "$value"
done

for file in "$@"; do
    if [ ! -s "$file" ]; then
        refuse "secret file $file is missing or empty (see docs/stack.md)"
    elif head -c 9 "$file" | grep -q '^change-me'; then
        refuse "secret file $file still holds an example value"
    elif [ "$(wc -c < "$file")" -lt 16 ]; then
        refuse "secret file $file is shorter than 16 bytes"
    fi
done

if [ "$status" -eq 0 ]; then
    echo "stack-check: every secret is set and none is an example value"
fi
exit "$status"
