#!/usr/bin/env bash
# slapd.sh DIR PORT TLS_PORT [foreground]
#
# Prepares a throwaway OpenLDAP server for veil's tests in DIR: a CA and a
# server certificate for 127.0.0.1, slapd.conf from slapd.conf.in, and a
# database loaded from base.ldif. Then starts slapd on loopback only:
# ldap://127.0.0.1:PORT (StartTLS available) and ldaps://127.0.0.1:TLS_PORT.
# With "foreground" slapd replaces this script (the tests run it as a child
# and stop it); without, it detaches, and `kill $(cat DIR/slapd.pid)` stops
# it (.ci/run). The CA certificate is DIR/ca.pem.
set -euo pipefail
dir=$1 port=$2 tls_port=$3 mode=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
slapd=${SLAPD:-/usr/sbin/slapd}
slapadd=${SLAPADD:-/usr/sbin/slapadd}

mkdir -p "$dir/data"
dir=$(cd "$dir" && pwd)
cd "$dir"

# A two-day CA and server certificate, P-256, for 127.0.0.1 and localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=veil-test-ca -keyout ca.key -out ca.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile server.ext -out server.pem 2>/dev/null
chmod 600 ca.key server.key

sed "s|@DIR@|$dir|g" "$here/slapd.conf.in" >slapd.conf
"$slapadd" -q -f slapd.conf -l "$here/base.ldif"

urls="ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tls_port/"
if [ "$mode" = foreground ]; then
	exec "$slapd" -f slapd.conf -h "$urls" -d 0
fi
"$slapd" -f slapd.conf -h "$urls"
for _ in $(seq 50); do
	if ldapwhoami -x -H "ldap://127.0.0.1:$port/" -D cn=admin,dc=veil,dc=test -w veil-test-admin >/dev/null 2>&1; then
		exit 0
	fi
	sleep 0.1
done
echo "slapd.sh: slapd did not answer on 127.0.0.1:$port" >&2
exit 1
