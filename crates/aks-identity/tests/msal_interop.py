"""The real MSAL Python + msal-extensions (the versions az pins) on the token-cache files aksctl reads and writes.

Run by tests/it/msal_interop.rs inside `unshare -n` with the az venv's python:

  msal_interop.py golden EVENT_JSON               print what SerializableTokenCache.add makes of the event
  msal_interop.py write CACHE EVENT_JSON          add the event through PersistedTokenCache (msal-extensions' lock)
  msal_interop.py read CACHE TENANT USER SCOPE..  what MSAL finds in CACHE: accounts, acquire_token_silent, RTs
  msal_interop.py hammer CACHE GO_FILE N PREFIX   N processes each touch GO_FILE.ready.<i>, wait for GO_FILE,
                                                  then (within 0.25 s) add one user's sign-in

EVENT_JSON is a token "event" as MSAL's TokenCache.add takes it, plus "now" (epoch seconds).
No network: an http_client that answers only OIDC discovery for login.microsoftonline.com, and fails on anything
else, so a token served by acquire_token_silent can only come from the cache.
"""
import base64
import json
import os
import random
import subprocess
import sys
import time

import msal
from msal_extensions import FilePersistence, PersistedTokenCache

AZ_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
HOST = "login.microsoftonline.com"


class _Response:
    def __init__(self, status_code, body):
        self.status_code = status_code
        self.text = json.dumps(body)
        self.headers = {}

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError("HTTP %d" % self.status_code)


class OfflineHttpClient:
    """Serves the OIDC discovery documents of login.microsoftonline.com; refuses every other request."""

    def get(self, url, params=None, headers=None, **kwargs):
        prefix = "https://%s/" % HOST
        suffix = "/v2.0/.well-known/openid-configuration"
        if url.startswith(prefix) and url.endswith(suffix):
            tenant = url[len(prefix):-len(suffix)]
            base = "https://%s/%s" % (HOST, tenant)
            return _Response(200, {
                "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                "token_endpoint": base + "/oauth2/v2.0/token",
                "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
                "issuer": "https://%s/%s/v2.0" % (HOST, tenant),
            })
        raise RuntimeError("no network in this test: GET " + url)

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        raise RuntimeError("no network in this test: POST " + url)

    def close(self):
        pass


def load_event(text):
    event = json.loads(text)
    return event, event.pop("now")


def golden(event_json):
    event, now = load_event(event_json)
    cache = msal.SerializableTokenCache()
    cache.add(event, now=now)
    sys.stdout.write(cache.serialize())


def write(cache_file, event_json):
    event, now = load_event(event_json)
    PersistedTokenCache(FilePersistence(cache_file)).add(event, now=now)


def read(cache_file, tenant, username, scopes):
    cache = PersistedTokenCache(FilePersistence(cache_file))
    app = msal.PublicClientApplication(
        AZ_CLIENT_ID, authority="https://%s/%s" % (HOST, tenant), token_cache=cache,
        http_client=OfflineHttpClient(), instance_discovery=False)
    accounts = app.get_accounts(username=username)
    result = app.acquire_token_silent(scopes, accounts[0]) if accounts else None
    refresh_tokens = list(cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN, query={
        "home_account_id": accounts[0]["home_account_id"], "environment": HOST,
        "client_id": AZ_CLIENT_ID})) if accounts else []
    json.dump({
        "accounts": [{k: a.get(k) for k in ("home_account_id", "username", "local_account_id", "realm")}
                     for a in accounts],
        "access_token": (result or {}).get("access_token"),
        "token_source": (result or {}).get("token_source"),
        "refresh_tokens": [rt["secret"] for rt in refresh_tokens],
    }, sys.stdout)


def sign_in_event(prefix, index):
    """A user's authorization-code answer, as az stores it after `az login`."""
    def b64(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    uid = "%s-%d" % (prefix, index)
    scope = "https://management.core.windows.net//.default"
    return {
        "client_id": AZ_CLIENT_ID,
        "scope": [scope],
        "token_endpoint": "https://%s/organizations/oauth2/v2.0/token" % HOST,
        "grant_type": "authorization_code",
        "response": {
            "token_type": "Bearer", "expires_in": 3599, "scope": scope, "access_token": "at-" + uid,
            "refresh_token": "rt-" + uid, "client_info": b64({"uid": uid, "utid": "t"}),
            "id_token": "e30." + b64({"oid": uid, "preferred_username": uid + "@contoso.com", "sub": uid}) + ".s",
        },
        "data": {},
    }


def hammer_one(cache_file, go_file, prefix, index):
    with open("%s.ready.%s" % (go_file, index), "w"):  # imports done: ready to go
        pass
    while not os.path.exists(go_file):
        time.sleep(0.005)
    # Everyone starts within one lock-polling interval (0.25 s), at a random phase of it, as independent
    # processes do; started in lockstep they would all poll the lock file at the same instants.
    time.sleep(random.uniform(0, 0.25))
    PersistedTokenCache(FilePersistence(cache_file)).add(sign_in_event(prefix, index), now=int(time.time()))


def hammer(cache_file, go_file, count, prefix):
    children = [subprocess.Popen([sys.executable, __file__, "hammer-one", cache_file, go_file, prefix, str(i)])
                for i in range(int(count))]
    failed = [child.args for child in children if child.wait() != 0]
    if failed:
        sys.exit("failed: %r" % failed)


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "golden":
        golden(*arguments)
    elif command == "write":
        write(*arguments)
    elif command == "read":
        read(arguments[0], arguments[1], arguments[2], arguments[3:])
    elif command == "hammer":
        hammer(*arguments)
    elif command == "hammer-one":
        hammer_one(arguments[0], arguments[1], arguments[2], int(arguments[3]))
    else:
        sys.exit("unknown command " + command)
