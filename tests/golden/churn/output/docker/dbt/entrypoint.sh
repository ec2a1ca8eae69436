#!/bin/sh
# Entrypoint of the specops images: export each file of $SPECOPS_SECRETS_DIR (a mounted Kubernetes
# Secret, one file per variable) as the environment variable of the same name, then run the command.
# A variable named in $SPECOPS_SECRET_FILES (space-separated: key files, such as a BigQuery key) gets the
# file's path instead of its content, as dbt and the cloud clients read a key from a path.
# Secrets reach the process as files, never as pod env values (checkov CKV_K8S_35).
set -eu
if [ -n "${SPECOPS_SECRETS_DIR:-}" ] && [ -d "$SPECOPS_SECRETS_DIR" ]; then
    for file in "$SPECOPS_SECRETS_DIR"/*; do
        [ -f "$file" ] || continue
        name=$(basename "$file")
        case "$name" in
            [!A-Za-z_]* | *[!A-Za-z0-9_]*) echo "entrypoint: skipping $name: not a variable name" >&2; continue ;;
        esac
        case " ${SPECOPS_SECRET_FILES:-} " in
            *" $name "*) value=$file ;;
            *) value=$(cat "$file") ;;
        esac
        export "$name=$value"
    done
fi
exec "$@"
