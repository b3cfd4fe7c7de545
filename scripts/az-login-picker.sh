#!/usr/bin/env bash
# az 2.91's subscription picker, recorded: a person signs in with `az login --use-device-code
# --allow-no-subscriptions` on a pseudo-terminal against the emulator (the seeded user, also a guest of a second
# tenant with no subscription, so two accounts are listed), answers `2`, then signs in again and answers `3`
# (refused) and Enter. Prints the two screens and the resulting azureProfile.json; tests/it/tty.rs expects the
# same screens from `aksctl login` (docs/login.md, "The subscription picker").
#
# Everything runs inside `unshare -n` (loopback only). Usage: scripts/az-login-picker.sh [path/to/aksctl]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$(realpath "${1:-$root/target/debug/aksctl}")
venv=${AZ_VENV:-$root/target/az-venv}
[ -x "$binary" ] || { echo "no aksctl binary at $binary (cargo build first)" >&2; exit 1; }
source "$root/scripts/lib.sh"
ensure_az_venv "$venv"

exec unshare -n bash -s "$binary" "$venv" "$root" <<'INNER'
set -euo pipefail
binary=$1; venv=$2; root=$3
source "$root/scripts/lib.sh"
start_loopback_emulator "$binary"
rm_url=$(ready_field resource_manager); ca=$(ready_field ca_cert_file); management=$(ready_field management)
user=$(ready_field user_name)
guest=5e5e5e5e-0000-4000-8000-000000000002
mkdir -p "$work/az-home" "$work/az-config"
printf '\xef\xbb\xbf{"versions": {"azure-cli": {"local": "2.91.0"}, "core": {"local": "2.91.0"}, "telemetry": {"local": "1.1.0"}}, "update_time": "%s"}' \
  "$(date -u '+%Y-%m-%d %H:%M:%S.000000')" > "$work/az-config/versionCheck.json"
export REQUESTS_CA_BUNDLE=$ca NO_PROXY=127.0.0.1,localhost HOME=$work/az-home AZURE_CONFIG_DIR=$work/az-config
export AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_SURVEY_MESSAGE=false AZURE_CORE_NO_COLOR=true AZURE_CORE_INSTANCE_DISCOVERY=false
manage() { curl -sS --fail --cacert "$ca" -X POST -H 'Content-Type: application/json' -d "$2" "$management$1" > /dev/null; }
manage tenants "{\"tenantId\": \"$guest\", \"displayName\": \"Guest Tenant\"}"
manage "tenants/$guest/guests" "{\"userPrincipalName\": \"$user\"}"
"$venv/bin/az" cloud register -n Emulator --endpoint-resource-manager "$rm_url" > /dev/null
"$venv/bin/az" cloud set -n Emulator 2> /dev/null

# The terminal: az on a pty (120 x 40); the device code approved through the management API once shown; each
# answer typed once the picker's question has been asked that many times. The screen with `\r\n` as `\n`.
drive() {
  python3 - "$management" "$ca" "$user" "$venv/bin/az" "$@" <<'PY'
import fcntl, json, os, pty, re, ssl, struct, subprocess, sys, termios, urllib.request
management, ca, user, az, answers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
child = subprocess.Popen([az, "login", "--use-device-code", "--allow-no-subscriptions"], stdin=slave,
                         stdout=slave, stderr=slave, env=dict(os.environ, TERM="xterm"))
os.close(slave)
screen = b""
def read_until(done):
    global screen
    while not done(screen):
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other end is closed
            chunk = b""
        if not chunk:
            return False
        screen += chunk
    return True
code = re.compile(rb"enter the code (\S+) to authenticate")
if not read_until(code.search):
    sys.exit(screen.decode("utf-8", "replace"))
request = urllib.request.Request(management + "devicecode/approve", method="POST",
    data=json.dumps({"user_code": code.search(screen).group(1).decode(), "user": user}).encode(),
    headers={"Content-Type": "application/json"})
urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca)).read()
question = b"(Type a number or Enter for no changes): "
for count, answer in enumerate(answers, start=1):
    read_until(lambda text: text.count(question) >= count)
    os.write(master, answer.encode() + b"\r")
read_until(lambda text: False)
child.wait()
sys.stdout.write(screen.decode("utf-8", "replace").replace("\r\n", "\n"))
print(f"[exit {child.returncode}]")
PY
}
echo "=== az login, answered 2"
drive 2
echo "=== az login again, answered 3 then Enter"
drive 3 ""
echo "=== azureProfile.json"
cat "$AZURE_CONFIG_DIR/azureProfile.json"; echo
echo "=== clouds.config [Emulator] subscription"
grep '^subscription' "$AZURE_CONFIG_DIR/clouds.config"
INNER
