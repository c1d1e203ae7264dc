# shellcheck shell=sh
# shellcheck disable=SC2034 # IB_* results are read by the scripts that source this
# irisbackup: IRIS credentials from an Azure Key Vault secret, read with the
# VM's managed identity just before the freeze.  Sourced by common.sh.
# POSIX sh (dash).
#
# Settings: key_vault_secret_url=https://<vault>.vault.azure.net/secrets/<name>
#           managed_identity=    empty: the VM's system-assigned identity, or
#                                the resource ID of a user-assigned one (msi_res_id)
# The secret's value is what a credentials_file holds: the IRIS username on
# the first line, the password on the second.
#
# Where the secret may be: in shell variables of the hook process and in
# pipes.  Never on a command line (ps, /proc/PID/cmdline): the token and the
# URL go to curl through its config on stdin (`curl -K -`), written with the
# printf builtin; never in an environment (nothing here is exported); never in
# a file: curl's answer is read from a pipe, the credentials reach `iris
# session` on its stdin through a pipe (ib_session_input).  Only the secret's
# length and a failure's HTTP status are logged.
#
# Network: IMDS (169.254.169.254, not filtered by NSGs) and the vault on 443
# (service tag AzureKeyVault where outbound is denied).  The whole
# fetch is bounded by call_timeout_seconds + 1 (one step): each of the two
# requests gets half of it.

IB_IMDS_TOKEN_URL='http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net'
IB_KV_API_VERSION=7.4
IB_CRED_SECRET=''
IB_NL='
'

# ib_check_kv_url LINE VALUE: https://<vault>.vault.azure.net/secrets/<name> (public cloud)
ib_check_kv_url() {
	S_KV_URL=''
	[ -n "$2" ] || return 0
	_ib_kv=${2#https://}
	_ib_kn=${_ib_kv%%.vault.azure.net/secrets/*}
	_ib_ks=${_ib_kv#*.vault.azure.net/secrets/}
	_ib_ok=1
	case $2 in https://*.vault.azure.net/secrets/*) ;; *) _ib_ok=0 ;; esac
	case $_ib_kn in '' | *[!abcdefghijklmnopqrstuvwxyz0123456789-]*) _ib_ok=0 ;; esac
	case $_ib_ks in '' | *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-]*) _ib_ok=0 ;; esac
	[ "${#_ib_kn}" -ge 3 ] && [ "${#_ib_kn}" -le 24 ] && [ "${#_ib_ks}" -le 127 ] || _ib_ok=0
	if [ "$_ib_ok" = 0 ]; then
		ib_bad_value "$1" key_vault_secret_url "$2" "empty, or https://<vault>.vault.azure.net/secrets/<name> (vault 3-24 of [a-z0-9-], name 1-127 of [A-Za-z0-9-])"
		return 1
	fi
	S_KV_URL=$2
}

# ib_check_msi LINE VALUE: empty or a user-assigned identity's resource ID
ib_check_msi() {
	S_MSI=''
	[ -n "$2" ] || return 0
	_ib_ok=1
	case $2 in
	/subscriptions/*/resourcegroups/*/providers/microsoft.managedidentity/userassignedidentities/* | \
		/subscriptions/*/resourceGroups/*/providers/Microsoft.ManagedIdentity/userAssignedIdentities/*) ;;
	*) _ib_ok=0 ;;
	esac
	case $2 in *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/\(\)-]*) _ib_ok=0 ;; esac
	if [ "$_ib_ok" = 0 ]; then
		ib_bad_value "$1" managed_identity "$2" "empty (the VM's system-assigned identity) or /subscriptions/.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>"
		return 1
	fi
	S_MSI=$2
}

# ib_creds_relations: with Key Vault credentials the fetch is one more step in
# the pre-script (before its check) and in the watchdog (before its thaw);
# the same rules as components/settings_credentials.py.
ib_creds_relations() {
	if [ -z "$S_KV_URL" ]; then
		[ -z "$S_MSI" ] || { ib_settings_error "managed_identity is set but key_vault_secret_url is empty"; return 1; }
		return 0
	fi
	if [ "$S_AZURE_TIMEOUT" -le $((7 * IB_STEP)) ]; then
		ib_settings_error "azure_timeout_seconds=$S_AZURE_TIMEOUT must be greater than 7 x (call_timeout_seconds + $IB_KILL_GRACE) = $((7 * IB_STEP)) with key_vault_secret_url (the pre-script's worst case: the credential fetch and six calls)"
		return 1
	fi
	if [ "$S_WDL" -le $((S_BUDGET + 5 * IB_STEP)) ]; then
		ib_settings_error "wd_suspend_limit_seconds=$S_WDL must be greater than freeze_budget_seconds + 5 x (call_timeout_seconds + $IB_KILL_GRACE) = $((S_BUDGET + 5 * IB_STEP)) with key_vault_secret_url (the watchdog's worst case: the credential fetch and four calls)"
		return 1
	fi
	return 0
}

# ib_json_string KEY: the top-level string member KEY of the JSON object on
# stdin, decoded, on stdout.  Exit 2 when absent, 3 when it holds a character
# outside ASCII (\u escapes above 007f) or a NUL.  Reads a pipe, writes a pipe.
ib_json_string() {
	awk -v want="$1" '
	{ text = text (NR > 1 ? "\n" : "") $0 }
	END {
		n = length(text); depth = 0; i = 1; key = ""; expect_value = 0
		while (i <= n) {
			c = substr(text, i, 1)
			if (c == "\"") {
				s = ""; bad = 0; i++
				while (i <= n) {
					c = substr(text, i, 1)
					if (c == "\"") break
					if (c == "\\") {
						i++; e = substr(text, i, 1)
						if (e == "n") s = s "\n"
						else if (e == "r") s = s "\r"
						else if (e == "t") s = s "\t"
						else if (e == "b") s = s "\b"
						else if (e == "f") s = s "\f"
						else if (e == "u") {
							v = 0
							for (h = 1; h <= 4; h++) {
								d = index("0123456789abcdef", tolower(substr(text, i + h, 1)))
								v = d ? v * 16 + d - 1 : -1000000
							}
							i += 4
							if (v <= 0 || v > 127) { bad = 1; v = 63 }
							s = s sprintf("%c", v)
						} else s = s e
					} else s = s c
					i++
				}
				if (depth == 1 && expect_value && key == want) {
					if (bad) exit 3
					printf "%s", s; found = 1; exit 0
				}
				if (depth == 1 && !expect_value) key = s; else key = ""
				expect_value = 0
			} else if (c == ":") expect_value = 1
			else if (c == "{" || c == "[") { depth++; expect_value = 0 }
			else if (c == "}" || c == "]") { depth--; expect_value = 0 }
			else if (c == ",") expect_value = 0
			i++
		}
		exit 2
	}'
}

# ib_https_get CONFIG-LINES...: curl with its URL and headers from stdin (-K -),
# never on its command line.  Prints the body and a last line with the HTTP status.
ib_https_get() {
	_ib_hm=$(((S_CALL_TIMEOUT + IB_KILL_GRACE) / 2))
	printf '%s\n' "$@" 'write-out = "\n%{http_code}"' |
		curl -q -sS --noproxy '*' --max-time "$_ib_hm" --connect-timeout "$_ib_hm" -K - 2>&1 3>&-
}

# ib_creds_fetch: IB_CRED_SECRET := the Key Vault secret.  Returns 1 with IB_ERR.
ib_creds_fetch() {
	IB_CRED_SECRET=''
	if ! command -v curl >/dev/null 2>&1; then
		IB_ERR="key_vault_secret_url is set but curl is not on PATH $PATH: cannot read the IRIS credentials"
		return 1
	fi
	_ib_url=$IB_IMDS_TOKEN_URL
	[ -z "$S_MSI" ] || _ib_url="$_ib_url&msi_res_id=$S_MSI"
	_ib_ans=$(ib_https_get "url = \"$_ib_url\"" 'header = "Metadata: true"')
	_ib_code=${_ib_ans##*"$IB_NL"}
	if [ "$_ib_code" != 200 ]; then
		IB_ERR="managed identity token from IMDS failed (HTTP ${_ib_code:-none}${S_MSI:+, identity $S_MSI}): does the VM have ${S_MSI:+this user-assigned}${S_MSI:-a system-assigned} identity?"
		return 1
	fi
	_ib_tok=$(printf '%s\n' "${_ib_ans%"$IB_NL"*}" | ib_json_string access_token) || _ib_tok=''
	case $_ib_tok in
	'' | *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-]*)
		IB_ERR="IMDS answered without a usable access_token"
		return 1
		;;
	esac
	_ib_ans=$(ib_https_get "url = \"$S_KV_URL?api-version=$IB_KV_API_VERSION\"" "header = \"Authorization: Bearer $_ib_tok\"")
	_ib_tok=''
	_ib_code=${_ib_ans##*"$IB_NL"}
	case $_ib_code in
	200) ;;
	401 | 403)
		IB_ERR="Key Vault refused the secret $S_KV_URL (HTTP $_ib_code): the VM's identity needs the Key Vault Secrets User role on it (and the vault Azure RBAC authorization)"
		return 1
		;;
	*)
		IB_ERR="Key Vault secret $S_KV_URL not read (HTTP ${_ib_code:-none}; 000 means no connection: outbound 443 to AzureKeyVault allowed?)"
		return 1
		;;
	esac
	IB_CRED_SECRET=$(printf '%s\n' "${_ib_ans%"$IB_NL"*}" | ib_json_string value)
	_ib_jrc=$?
	_ib_ans=''
	if [ "$_ib_jrc" != 0 ]; then
		IB_CRED_SECRET=''
		IB_ERR="Key Vault secret $S_KV_URL: no usable value in the answer (exit $_ib_jrc; non-ASCII characters are not supported: use credentials_file)"
		return 1
	fi
	case $IB_CRED_SECRET in
	*"$IB_NL"?*) ;;
	*)
		IB_CRED_SECRET=''
		IB_ERR="Key Vault secret $S_KV_URL must hold two lines: the IRIS username, then the password"
		return 1
		;;
	esac
	ib_log "IRIS credentials read from Key Vault secret $S_KV_URL (${#IB_CRED_SECRET} characters)"
	return 0
}

# ib_session_input OP [CODE]: what an iris session reads on stdin: the
# credentials (Key Vault secret, or the credentials file), then for OP code the
# ObjectScript line and halt.
ib_session_input() {
	if [ -n "$IB_CRED_SECRET" ]; then
		printf '%s\n' "$IB_CRED_SECRET"
	elif [ "$IB_CRED_IN" != /dev/null ]; then
		cat "$IB_CRED_IN"
	fi
	[ "$1" != code ] || printf '%s\nhalt\n' "$2"
}
