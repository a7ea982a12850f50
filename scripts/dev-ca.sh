#!/usr/bin/env bash
# A development certificate authority and the certificates gridflow's TLS
# settings name, made with openssl into $GRIDFLOW_RUN_DIR/tls (default
# .run/tls) or the directory given:
#   ca.crt, ca.key          the CA (kept: run again and only the leaves are renewed)
#   server.crt, server.key  every service and nats-server: localhost, 127.0.0.1, ::1, the
#                           service names and their Kubernetes Service names (extra names:
#                           DEV_CA_NAMES="a.example b.example")
#   client.crt, client.key  gridctl and tests, for servers that require client certificates
# The server certificate also works as a client certificate (NATS asks the
# services for one when it verifies clients).
#   scripts/dev-ca.sh [DIR]
# For development and tests only: a city uses its own CA (or cert-manager).
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || die "openssl not found (Debian: apt-get install openssl)"
DIR=${1:-$RUN_DIR/tls}
DAYS=${DEV_CA_DAYS:-365}
mkdir -p "$DIR"
chmod 700 "$DIR"
cd "$DIR"

if [ ! -s ca.key ] || [ ! -s ca.crt ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days $((DAYS * 3)) \
    -subj "/O=gridflow development/CN=gridflow dev CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout ca.key -out ca.crt 2>/dev/null
  say "made a development CA in $DIR/ca.crt"
fi

# leaf NAME CN EXTKEYUSAGE SAN: a key and a certificate signed by the CA.
leaf() {
  local name=$1 cn=$2 eku=$3 san=$4
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=gridflow development/CN=$cn" \
    -keyout "$name.key" -out "$name.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s\n' \
    "$eku" "${san:+subjectAltName=$san}" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$DAYS" \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  chmod 600 "$name.key"
  openssl verify -CAfile ca.crt "$name.crt" >/dev/null || die "$name.crt does not verify against ca.crt"
}

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for svc in intake classify dispatch feedback console nats; do
  san+=",DNS:$svc,DNS:$svc.gridflow,DNS:$svc.gridflow.svc,DNS:$svc.gridflow.svc.cluster.local"
done
san+=",DNS:*.nats-cluster,DNS:*.nats-cluster.gridflow.svc,DNS:*.nats-cluster.gridflow.svc.cluster.local"
for n in ${DEV_CA_NAMES:-}; do san+=",DNS:$n"; done
leaf server "gridflow services" "serverAuth,clientAuth" "$san"
leaf client "gridctl" "clientAuth" ""
rm -f ca.srl
say "certificates in $DIR: ca.crt, server.crt/.key, client.crt/.key (valid $DAYS days)"
