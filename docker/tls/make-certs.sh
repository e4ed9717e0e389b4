#!/bin/sh
# TLS for the stack's PostgreSQL and MinIO, made once into the `tls` volume by the one-shot `tls-init`
# service (cofre image, as root). cofre refuses plain connections to hosts other than this machine
# (security/credentials.py: sslmode=require, https:// for S3), so the stack's servers speak TLS.
#
# Writes: ca.crt; postgres/server.{crt,key} (owned by the postgres image's uid 999);
# minio/public.crt and minio/private.key; ca-bundle.pem (system CAs + ours, for Python clients via
# SSL_CERT_FILE / AWS_CA_BUNDLE); cacerts (the JDK's trust store + ours, for Spark's S3A).
# The CA's private key is deleted once both certificates are signed. To renew, remove the volume.
set -eu

out=${1:-/tls}
if [ -s "$out/ca.crt" ]; then
    echo "tls-init: certificates exist in $out; nothing to do"
    exit 0
fi
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=cofre stack CA" \
    -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null

sign() { # NAME DNS...
    name=$1
    shift
    san=""
    for dns in "$@"; do san="${san:+$san,}DNS:$dns"; done
    openssl req -newkey rsa:3072 -nodes -subj "/CN=$name" \
        -keyout "$work/$name.key" -out "$work/$name.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > "$work/$name.ext"
    openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
        -days 825 -extfile "$work/$name.ext" -out "$work/$name.crt" 2>/dev/null
}
sign postgres postgres localhost
sign minio minio localhost

mkdir -p "$out/postgres" "$out/minio"
cp "$work/postgres.crt" "$out/postgres/server.crt"
cp "$work/postgres.key" "$out/postgres/server.key"
chown 999:999 "$out/postgres/server.key" "$out/postgres/server.crt"
chmod 0600 "$out/postgres/server.key"
cp "$work/minio.crt" "$out/minio/public.crt"
cp "$work/minio.key" "$out/minio/private.key"
chmod 0600 "$out/minio/private.key"

cat /etc/ssl/certs/ca-certificates.crt "$work/ca.crt" > "$out/ca-bundle.pem"
java_cacerts=$(find /usr/lib/jvm -path '*/lib/security/cacerts' | head -n 1)
cp -L "$java_cacerts" "$out/cacerts"
# "changeit" is the JDK's well-known store password: the store holds public certificates only.
keytool -importcert -noprompt -alias cofre-stack-ca -file "$work/ca.crt" \
    -keystore "$out/cacerts" -storepass changeit >/dev/null
cp "$work/ca.crt" "$out/ca.crt"
chmod 0644 "$out/ca.crt" "$out/ca-bundle.pem" "$out/cacerts" "$out/postgres/server.crt" "$out/minio/public.crt"
chmod 0755 "$out" "$out/postgres" "$out/minio"
echo "tls-init: made the stack CA and the certificates of postgres and minio in $out"
