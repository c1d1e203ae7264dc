#!/bin/sh
# Test double of `curl` as the hooks use it (hooks/creds.sh): `curl -q -sS --noproxy '*' --max-time N
# --connect-timeout N -K -`, URL, headers and write-out on stdin.  Plays the Azure Instance Metadata
# Service (managed identity tokens) and Key Vault (GET secret).  State under $KV_DOUBLE_DIR, or
# <dir of this command>/../kv:
#   identity        the identity the VM has: "system" (system-assigned) or a user-assigned
#                   identity's resource ID; absent: none (IMDS answers 400)
#   secrets/<vault>/<name>   a secret's value (bytes as stored)
#   grant/<vault>/<name>     present: the identity may read that secret (else 403)
#   op.imds op.kv   fail (HTTP 500) | down (no connection) | hang (until --max-time) | deny (403, kv)
#   requests        one line per request: "<url>|<header>|<header>..." (the token is a fake)
#   leaks           a line per request whose argv or environment held a token or a secret
set -u
case $0 in */*) bindir=${0%/*} ;; *) bindir=. ;; esac
K=${KV_DOUBLE_DIR:-$bindir/../kv}
argv="$*" maxtime=10 fromstdin=0
while [ "$#" -gt 0 ]; do
	case $1 in
	--max-time) maxtime=$2; shift ;;
	-K) [ "$2" = - ] && fromstdin=1; shift ;;
	esac
	shift
done
[ "$fromstdin" = 1 ] || { echo "curl double: expected -K -" >&2; exit 2; }
url='' headers='' wout=''
while IFS= read -r line; do
	value=${line#*= \"}
	value=${value%\"}
	case $line in
	'url = "'*) url=$value ;;
	'header = "'*) headers="$headers|$value" ;;
	'write-out = "'*) wout=$value ;;
	esac
done
printf '%s%s\n' "$url" "$headers" >>"$K/requests"
# What must never be on our command line or in our environment: tokens and secret values.
for s in "$K"/secrets/*/*; do
	[ -f "$s" ] || continue
	pw=$(sed -n 2p "$s")
	case " $argv $(env) " in *"$pw"*) echo "secret in argv or environment: $url" >>"$K/leaks" ;; esac
done
case " $argv $(env) " in *tok-*) echo "token in argv or environment: $url" >>"$K/leaks" ;; esac

answer() { # code body
	printf '%s' "$2"
	[ "$wout" = '\n%{http_code}' ] && printf '\n%s' "$1"
	exit 0
}
behave() { # op file
	[ -f "$1" ] || return 0
	read -r b <"$1"
	case $b in
	fail) answer 500 '{"error":"internal"}' ;;
	down) [ "$wout" = '\n%{http_code}' ] && printf '\n000'; echo "curl: (7) Failed to connect" >&2; exit 7 ;;
	hang) sleep "$maxtime"; [ "$wout" = '\n%{http_code}' ] && printf '\n000'; exit 28 ;;
	deny) answer 403 '{"error":{"code":"Forbidden"}}' ;;
	esac
}

case $url in
http://169.254.169.254/metadata/identity/oauth2/token\?*)
	behave "$K/op.imds"
	case $headers in *'|Metadata: true'*) ;; *) answer 400 '{"error":"invalid_request","error_description":"Required metadata header not specified"}' ;; esac
	case $url in *'resource=https%3A%2F%2Fvault.azure.net'*) ;; *) answer 400 '{"error":"invalid_resource"}' ;; esac
	[ -f "$K/identity" ] || answer 400 '{"error":"invalid_request","error_description":"Identity not found"}'
	read -r have <"$K/identity"
	case $url in
	*'&msi_res_id='*) want=${url##*&msi_res_id=} ;;
	*) want=system ;;
	esac
	[ "$want" = "$have" ] || answer 400 '{"error":"invalid_request","error_description":"Identity not found"}'
	answer 200 '{"access_token":"tok-eyJ0eXAi.eyJhdWQi.c2ln","client_id":"00000000-0000-0000-0000-000000000001","expires_in":"86399","resource":"https://vault.azure.net","token_type":"Bearer"}'
	;;
https://*.vault.azure.net/secrets/*\?api-version=*)
	behave "$K/op.kv"
	case $headers in *'|Authorization: Bearer tok-eyJ0eXAi.eyJhdWQi.c2ln'*) ;; *) answer 401 '{"error":{"code":"Unauthorized"}}' ;; esac
	vault=${url#https://}
	vault=${vault%%.*}
	name=${url#*/secrets/}
	name=${name%%\?*}
	[ -f "$K/secrets/$vault/$name" ] || answer 404 '{"error":{"code":"SecretNotFound"}}'
	[ -f "$K/grant/$vault/$name" ] || answer 403 '{"error":{"code":"Forbidden","innererror":{"code":"ForbiddenByRbac"}}}'
	escaped=$(sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' "$K/secrets/$vault/$name" | awk '{ printf "%s%s", (NR > 1 ? "\\n" : ""), $0 }')
	answer 200 "{\"value\":\"$escaped\",\"contentType\":\"irisbackup\",\"id\":\"https://$vault.vault.azure.net/secrets/$name/0123456789abcdef0123456789abcdef\",\"attributes\":{\"enabled\":true}}"
	;;
*) echo "curl: (6) Could not resolve host" >&2; [ "$wout" = '\n%{http_code}' ] && printf '\n000'; exit 6 ;;
esac
