#!/usr/bin/env python3
"""Proofs that aksctl shares az's login safely (issue #13 points 4 and 9), with the real az 2.91.

`cycles` — randomised identity cycles (point 4): aksctl and the real az take turns signing people and service
principals in and out of the same az files (`AZURE_CONFIG_DIR`), switching accounts and tenants (a guest tenant),
and presenting rotated (wrong) secrets; after every step the token each path serves must carry the identity az's
profile says is active, or the path must fail with az's message when nobody is: `account get-access-token`, an
ARM call (`aks list`, whose caller the emulator's request log names), `kubelogin get-token -l azurecli` and
`-l spn`, and now and then the real `az account get-access-token`.

`writers` — the shared cache under concurrent writers (point 9), every group started together behind a start file,
each process signing a different person in (device code, a tenant of their own): 20 aksctl logins at once must
lose nothing (profile and token cache); 20 az logins at once are reported for comparison; then 20 az + 20 aksctl
logins at once and 40 get-access-token at once on one directory: both files must stay valid JSON (the profile
with its BOM), every process must succeed (an az that read a file another az was rewriting in place runs again,
counted) and serve its own person, and both tools must still work afterwards. An aksctl login the token cache
lost in the mixed phases FAILS the proof unless az's own trace (az_cache_trace/sitecustomize.py, loaded into the
real az) shows az's lock failing in that phase (an az writer that went on without the lock file after its 5 s, or
found the file torn inside its lock: docs/azure-cli-files.md, "Limits of the protocol") and no az save dropped
that login while az's lock still held. Such losses are printed with the evidence, and those people sign in again,
alone.

Run by scripts/az-conformance.sh inside `unshare -n` (az contacts Microsoft hosts by itself otherwise), against
an emulator that is already running:

    shared_login_proofs.py cycles READY_JSON AKSCTL_BINARY AZ_BINARY WORK_DIR [--cycles 1000] [--seed N] [--az-share 0.1]
    shared_login_proofs.py writers READY_JSON AKSCTL_BINARY AZ_BINARY WORK_DIR [--each 20]

In `cycles` the seed is printed first; a failure names the cycle, the step and the seed, so `--seed` replays it. The model of
az's profile follows azure-cli's `azure/cli/core/_profile.py` (Azure/azure-cli): a login's accounts replace those
with the same subscription id and the new one becomes the default; `logout` removes the current user's accounts and
leaves no default; `account set` picks one.
"""

import argparse
import base64
import json
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request

SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"  # AKS's Entra server app, kubelogin's --server-id
NO_LOGIN = "Please run 'az login' to setup account."
NO_DEFAULT = "No subscription found. Run 'az account set' to select a subscription."
# What az says when it read one of its files while another az was rewriting it in place (see Writers.finish):
# the token cache, or clouds.config (azure-cli `azure/cli/core/cloud.py` `set_cloud_subscription` rewrites it with
# open(…, 'w'), and a custom cloud's endpoints live there); or, inside a lock another az also believed it held (see
# Writers.ours_lost), a file two of them were rewriting at once ("Extra data").
AZ_DIRTY_READS = ("does not exist in MSAL token cache", "Can't find token from MSAL cache", "is not registered",
                  "json.decoder.JSONDecodeError")



# A browser stand-in: GETs the authorize URL; a 302 is followed to the loopback listener (`response_mode=query`),
# and Entra's `form_post` page (what az and `aksctl login` ask for) has its hidden form POSTed to its action, as the
# page's script does in a browser.
BROWSER_STAND_IN = r"""#!/usr/bin/env python3
import html.parser, ssl, sys, urllib.parse, urllib.request

class Form(html.parser.HTMLParser):
    action, fields = None, {}
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect,
                                     urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile="@CA@")))
try:
    page = opener.open(sys.argv[1]).read().decode()
except urllib.error.HTTPError as answer:
    if answer.code not in (301, 302, 303):
        raise
    page, target, data = None, answer.headers["Location"], None
if page is not None:
    form = Form()
    form.feed(page)
    target, data = form.action, urllib.parse.urlencode(form.fields).encode()
try:
    opener.open(target, data).read()
except urllib.error.HTTPError as answer:  # the listener's own redirect to a success page is fine
    if answer.code not in (301, 302, 303):
        raise
"""

class Failure(Exception):
    pass


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Cloud:
    """The emulator's management API."""

    def __init__(self, ready):
        self.ready = ready
        self.context = ssl.create_default_context(cafile=ready["ca_cert_file"])

    def management(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.ready["management"] + path, method=method, data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.context) as answer:
            text = answer.read()
        return json.loads(text) if text else None


class Tools:
    """aksctl, kubelogin (aksctl as argv[0] `kubelogin`) and az, all on the same az files."""

    def __init__(self, args, cloud, work):
        self.cloud, self.work, self.aksctl, self.az_binary = cloud, work, args.aksctl, args.az
        ready = cloud.ready
        home = os.path.join(work, "home")
        bin_dir = os.path.join(work, "bin")
        os.makedirs(os.path.join(home, ".azure"), exist_ok=True)
        os.makedirs(bin_dir, exist_ok=True)
        self.kubelogin = os.path.join(bin_dir, "kubelogin")
        if not os.path.exists(self.kubelogin):
            os.symlink(self.aksctl, self.kubelogin)
        browser = os.path.join(bin_dir, "browser")
        with open(browser, "w") as file:
            file.write(BROWSER_STAND_IN.replace("@CA@", ready["ca_cert_file"]))
        os.chmod(browser, 0o755)
        # az's update check stays quiet: it believes it checked a moment ago.
        with open(os.path.join(home, ".azure", "versionCheck.json"), "w", encoding="utf-8-sig") as file:
            json.dump({"versions": {"azure-cli": {"local": "2.91.0"}, "core": {"local": "2.91.0"},
                                    "telemetry": {"local": "1.1.0"}},
                       "update_time": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())}, file)
        base = {key: value for key, value in os.environ.items() if not key.startswith("AZURE_")}
        base.update(HOME=home, AZURE_CONFIG_DIR=os.path.join(home, ".azure"), RUST_BACKTRACE="0",
                    AKSCTL_CONFIG_DIR=os.path.join(work, "aksctl-config"), REQUESTS_CA_BUNDLE=ready["ca_cert_file"],
                    NO_PROXY="127.0.0.1,localhost", BROWSER=browser, AZURE_CORE_INSTANCE_DISCOVERY="false",
                    AZURE_CORE_COLLECT_TELEMETRY="false", AZURE_CORE_SURVEY_MESSAGE="false",
                    AZURE_CORE_NO_COLOR="true")
        self.az_env = dict(base)
        # aksctl and kubelogin find no az on PATH: whatever they serve, they read natively.
        self.aksctl_env = dict(base, PATH="/usr/bin:/bin")
        self.kubelogin_cache = os.path.join(work, "kubelogin-cache")

    def run(self, argv, env, stdin=subprocess.DEVNULL):
        return subprocess.run(argv, env=env, stdin=stdin, capture_output=True, text=True, timeout=120)

    def tool(self, who, args, extra_env=None):
        if who == "az":
            return self.run([self.az_binary, *args], self.az_env)
        return self.run([self.aksctl, *args], dict(self.aksctl_env, **(extra_env or {})))

    def get_token(self, args, extra_env=None):
        argv = [self.kubelogin, "get-token", "--server-id", SERVER_ID, "--cache-dir", self.kubelogin_cache, *args]
        # kubelogin's authority is its --environment (public cloud by default), not az's active cloud: name the
        # emulator's, as a kubeconfig for a custom cloud would.
        env = dict(self.aksctl_env, AZURE_AUTHORITY_HOST=self.cloud.ready["authority_host"], **(extra_env or {}))
        return self.run(argv, env)

    def device_code_login(self, who, user, args):
        argv = [self.az_binary if who == "az" else self.aksctl, "login", "--use-device-code", *args]
        env = self.az_env if who == "az" else self.aksctl_env
        child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        seen = ""
        for line in child.stderr:
            seen += line
            match = re.search(r"enter the code (\w+)", line)
            if match:
                self.cloud.management("POST", "devicecode/approve", {"user_code": match.group(1), "user": user})
                break
        out, err = child.communicate(timeout=120)
        return subprocess.CompletedProcess(argv, child.returncode, out, seen + err)


class Model:
    """az's profile as the steps should leave it: accounts (subscription id → (user name, user type, tenant)) and
    the default one's id."""

    def __init__(self):
        self.accounts, self.default = {}, None

    def login(self, subscription_id, entry):
        self.accounts[subscription_id] = entry
        self.default = subscription_id

    def logout(self):
        user = self.accounts[self.default][0]
        self.accounts = {key: entry for key, entry in self.accounts.items() if entry[0].lower() != user.lower()}
        self.default = None

    def active(self):
        return self.accounts.get(self.default)


def identities(cloud):
    """Who can sign in: name → (login arguments builder, profile entry, expected (oid, tid))."""
    ready = cloud.ready
    home = ready["tenant_id"]
    directory = cloud.management("GET", "state")["directory"]
    users = {user["user_principal_name"]: user["object_id"] for user in directory["users"]}
    principals = {sp["app_id"]: sp["object_id"] for sp in directory["service_principals"]}
    guest_tenant = cloud.management("POST", "tenants", {"displayName": "Guest Tenant"})["tenantId"]
    people = {}
    for user in (ready["user_name"], ready["dev_user_name"]):
        guest_oid = cloud.management("POST", f"tenants/{guest_tenant}/guests", {"userPrincipalName": user})["id"]
        people[f"{user} (home)"] = dict(user=user, args=[], subscription=ready["subscription_id"],
                                        entry=(user, "user", home), expect=(users[user], home))
        people[f"{user} (guest)"] = dict(user=user, args=["--tenant", guest_tenant, "--allow-no-subscriptions"],
                                         subscription=guest_tenant, entry=(user, "user", guest_tenant),
                                         expect=(guest_oid, guest_tenant))
    sp_login = ["login", "--service-principal", "--tenant", home, "-u"]
    for client, secret in ((ready["client_id"], ready["client_secret"]),
                           (ready["nonadmin_client_id"], ready["nonadmin_client_secret"])):
        people[f"sp {client} (secret)"] = dict(args=[*sp_login, client, "-p", secret],
                                               subscription=ready["subscription_id"],
                                               entry=(client, "servicePrincipal", home),
                                               expect=(principals[client], home))
    client = ready["cert_client_id"]
    people[f"sp {client} (certificate)"] = dict(args=[*sp_login, client, "--certificate", ready["cert_file"]],
                                                subscription=ready["subscription_id"],
                                                entry=(client, "servicePrincipal", home),
                                                expect=(principals[client], home))
    return people, principals


class Cycles:
    def __init__(self, args, cloud, tools):
        self.args, self.cloud, self.tools = args, cloud, tools
        self.rng = random.Random(args.seed)
        self.model = Model()
        self.people, self.principals = identities(cloud)
        self.by_entry = {person["entry"]: person for person in self.people.values()}
        self.served = {"aksctl get-access-token": 0, "aks list (ARM caller)": 0, "kubelogin -l azurecli": 0,
                       "kubelogin -l spn": 0, "az get-access-token": 0, "refused": 0}
        self.steps = {}

    def who(self):
        return "az" if self.rng.random() < self.args.az_share else "aksctl"

    def expected(self):
        entry = self.model.active()
        return None if entry is None else self.by_entry[entry]["expect"]

    def expected_error(self):
        return NO_LOGIN if not self.model.accounts else NO_DEFAULT

    # ---- steps ----

    def step(self):
        roll = self.rng.random()
        if roll < 0.4:
            return self.login()
        if roll < 0.55:
            return self.logout()
        if roll < 0.75 and self.model.accounts:
            return self.account_set()
        return self.rotate()

    def login(self):
        name = self.rng.choice(sorted(self.people))
        person, who = self.people[name], self.who()
        self.doing = f"{who} login {name}"
        if "user" in person:
            if who == "aksctl" and self.rng.random() < 0.8:
                self.cloud.management("POST", "authorize/approve", {"user": person["user"]})
                output = self.tools.tool(who, ["login", *person["args"]])
                how = "browser"
            else:
                output = self.tools.device_code_login(who, person["user"], person["args"])
                how = "device code"
        else:
            output, how = self.tools.tool(who, person["args"]), "secret/certificate"
        self.require(output.returncode == 0, f"{who} login as {name} ({how})", output)
        self.model.login(person["subscription"], person["entry"])
        return f"{who} login {name} ({how})"

    def logout(self):
        who = self.who()
        self.doing = f"{who} logout"
        output = self.tools.tool(who, ["logout"])
        if self.model.active() is None:
            error = "There are no active accounts."
            self.require(output.returncode == 1 and error in output.stderr, f"{who} logout with nobody active",
                         output)
            return f"{who} logout (nobody active)"
        self.require(output.returncode == 0, f"{who} logout", output)
        self.model.logout()
        return f"{who} logout"

    def account_set(self):
        subscription_id = self.rng.choice(sorted(self.model.accounts))
        who = self.who()
        self.doing = f"{who} account set -s {subscription_id}"
        output = self.tools.tool(who, ["account", "set", "-s", subscription_id])
        self.require(output.returncode == 0, f"{who} account set -s {subscription_id}", output)
        self.model.default = subscription_id
        return f"{who} account set {self.model.accounts[subscription_id]}"

    def rotate(self):
        """An environment service principal whose secret may have been rotated away: Entra refuses the old one,
        whatever aksctl's or kubelogin's caches hold for the current one."""
        ready = self.cloud.ready
        client, secret = self.rng.choice([(ready["client_id"], ready["client_secret"]),
                                          (ready["nonadmin_client_id"], ready["nonadmin_client_secret"])])
        accepted = self.rng.random() < 0.5
        if not accepted:
            secret = "rotated-" + secret[-6:]
        self.doing = f"env-sp rotate: {client} accepted={accepted}"
        env = {"AZURE_CLIENT_ID": client, "AZURE_CLIENT_SECRET": secret, "AZURE_TENANT_ID": ready["tenant_id"]}
        expect = (self.principals[client], ready["tenant_id"]) if accepted else None
        self.check_arm(env, expect, "AADSTS7000215", "aks list as an environment service principal")
        output = self.tools.get_token(["-l", "spn"], env)
        self.check_token(output, lambda: json.loads(output.stdout)["status"]["token"], expect, "AADSTS7000215",
                         "kubelogin -l spn")
        return f"env-sp rotate: {client} with {'its' if accepted else 'a rotated'} secret"

    # ---- checks ----

    def require(self, condition, what, output=None):
        if not condition:
            detail = "" if output is None else f"\nexit {output.returncode}\nstdout: {output.stdout[-2000:]}\nstderr: {output.stderr[-2000:]}"
            raise Failure(f"{what} failed{detail}")

    def check_token(self, output, token_of, expect, error, what):
        if expect is None:
            self.require(output.returncode == 1 and error in output.stderr,
                         f"{what}: expected exit 1 with {error!r}", output)
            self.served["refused"] += 1
            return
        self.require(output.returncode == 0, f"{what}: expected a token for oid/tid {expect}", output)
        token = claims(token_of())
        served = (token.get("oid"), token.get("tid"))
        self.require(served == expect, f"{what}: STALE token for oid/tid {served}, expected {expect}")
        self.served[what] += 1

    def check_arm(self, env, expect, error, what):
        self.cloud.management("DELETE", "requests")
        output = self.tools.tool("aksctl", ["aks", "list"], env)
        callers = {(r["caller"].get("oid"), r["caller"].get("tid")) for r in self.cloud.management("GET", "requests")
                   if r.get("caller") and "/providers/Microsoft.ContainerService/" in r["path"]}
        if expect is None:
            self.require(output.returncode == 1 and error in output.stderr and not callers,
                         f"{what}: expected exit 1 with {error!r} and no ARM call (callers {callers})", output)
            self.served["refused"] += 1
            return
        self.require(callers == {expect}, f"{what}: ARM callers {callers}, expected {expect}", output)
        self.served["aks list (ARM caller)"] += 1

    def check(self, cycle):
        expect, error = self.expected(), self.expected_error()
        output = self.tools.tool("aksctl", ["account", "get-access-token"])
        self.check_token(output, lambda: json.loads(output.stdout)["accessToken"], expect, error,
                         "aksctl get-access-token")
        # aks list on a tenant-level account addresses the tenant id as a subscription (ARM answers 404, as
        # for az); the caller is what counts.
        # Nobody signed in: the credential chain's own error (it lists what it tried), and no ARM call.
        self.check_arm({}, expect, "", "aks list (ARM caller)")
        output = self.tools.get_token(["-l", "azurecli"])
        self.check_token(output, lambda: json.loads(output.stdout)["status"]["token"], expect, error,
                         "kubelogin -l azurecli")
        if self.rng.random() < self.args.az_share / 2:
            output = self.tools.tool("az", ["account", "get-access-token"])
            self.check_token(output, lambda: json.loads(output.stdout)["accessToken"], expect, error,
                             "az get-access-token")

    def run(self):
        started = time.monotonic()
        for cycle in range(1, self.args.cycles + 1):
            step = self.doing = "(start)"
            try:
                step = self.step()
                kind = " ".join(step.split(" ")[:2]).rstrip(":")
                self.steps[kind] = self.steps.get(kind, 0) + 1
                self.check(cycle)
            except (Failure, subprocess.TimeoutExpired, KeyError, ValueError) as error:
                raise SystemExit(f"identity cycles FAILED at cycle {cycle} (seed {self.args.seed}), step "
                                 f"{self.doing if step == '(start)' else step!r}, profile model {self.model.accounts} default {self.model.default}:\n"
                                 f"{error}")
            if cycle % 100 == 0:
                print(f"  {cycle} cycles, {time.monotonic() - started:.0f} s", file=sys.stderr)
        print(f"identity cycles: {self.args.cycles} cycles (seed {self.args.seed}) in "
              f"{time.monotonic() - started:.0f} s, 0 stale; steps {self.steps}; checked {self.served}")


class Writers:
    """`each` az and `each` aksctl processes on the same az files at once."""

    def __init__(self, args, cloud, tools):
        self.args, self.cloud, self.tools = args, cloud, tools
        # What az does to the token cache, traced from inside az (see az_cache_trace/sitecustomize.py).
        self.trace = os.path.join(tools.work, "az-cache-trace.jsonl")
        tools.az_env.update(PYTHONPATH=os.path.join(os.path.dirname(os.path.abspath(__file__)), "az_cache_trace"),
                            AZ_CACHE_TRACE=self.trace)
        self.people = []  # (who, user principal name, tenant id, object id)
        # 2×each mixed (az, aksctl, az, …), then each aksctl alone, then each az alone.
        for index in range(4 * args.each):
            who = "az" if (index % 2 == 0 and index < 2 * args.each) or index >= 3 * args.each else "aksctl"
            tenant = cloud.management("POST", "tenants", {"displayName": f"Writer {index}"})["tenantId"]
            user = cloud.management("POST", "users", {"userPrincipalName": f"writer{index}@{tenant}.example",
                                                      "tenantId": tenant})
            self.people.append((who, user["userPrincipalName"], tenant, user["id"]))

    def all_at_once(self, phase, people, argv_of, config_dir):
        """Start every person's command behind one start file; returns (process, log name) pairs."""
        start = os.path.join(self.tools.work, f"start-{phase}")
        children = []
        for index, person in enumerate(people):
            who = person[0]
            binary = self.tools.az_binary if who == "az" else self.tools.aksctl
            env = dict(self.tools.az_env if who == "az" else self.tools.aksctl_env, AZURE_CONFIG_DIR=config_dir)
            log = os.path.join(self.tools.work, f"{phase}-{index}")
            with open(log + ".out", "w") as stdout, open(log + ".err", "w") as stderr:
                child = subprocess.Popen(["sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.01; done; exec "$@"', start,
                                          binary, *argv_of(person)],
                                         env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
            children.append((child, log))
        time.sleep(1)  # every process is waiting at the start line
        open(start, "w").close()
        return children

    def approve_codes(self, people, children):
        """Approve each process's device code for its own person, as the codes appear."""
        pending = dict(enumerate(children))
        deadline = time.monotonic() + 300
        while pending and time.monotonic() < deadline:
            for index, (child, log) in list(pending.items()):
                with open(log + ".err") as file:
                    match = re.search(r"enter the code (\w+)", file.read())
                if match:
                    self.cloud.management("POST", "devicecode/approve",
                                          {"user_code": match.group(1), "user": people[index][1]})
                    del pending[index]
                elif child.poll() is not None:
                    del pending[index]
            time.sleep(0.05)

    def finish(self, phase, people, children, retry=None, tolerate=False, since=None):
        """The outputs and how many az processes were run again. Every process must succeed, except an az that
        read the token cache while another az rewrote it: msal-extensions writes the file in place (truncate,
        then write) and reads it without the lock, and MSAL takes an empty file for an empty cache, so an az
        racing another az can lose sight of its own login (azure-cli and msal-extensions behaviour; aksctl writes
        through a rename). Such an az runs once more, alone, with `retry(person)`, and is counted. With `since`,
        a process (either tool) that still finds no login for its person is excused, and its output is None, when
        az's trace shows az's lock failing since then (see ours_lost)."""
        failures, outputs, retried, excused = [], [], 0, []
        for (child, log), person in zip(children, people):
            code = child.wait(timeout=300)
            with open(log + ".out") as out, open(log + ".err") as err:
                output, error = out.read(), err.read()
            if code != 0 and retry and person[0] == "az" and any(text in error for text in AZ_DIRTY_READS):
                again = retry(person)
                code, output, error, retried = again.returncode, again.stdout, again.stderr, retried + 1
            if code != 0 and since is not None and any(text in error for text in AZ_DIRTY_READS) \
                    and self.az_lock_failures(since)[0]:
                excused.append(person)
                code, output = 0, None
            outputs.append(output)
            if code != 0:
                failures.append(f"{phase}: {person[0]} as {person[1]} exited {code}: {error[-1500:]}")
        if excused:
            print(f"{phase}: {len(excused)} processes found no login for their person after az's lock failed "
                  f"(az's trace): " + ", ".join(f"{who} as {user}" for who, user, _, _ in excused))
        if failures and not tolerate:
            raise Failure("\n".join(failures))
        return outputs, retried if not tolerate else len(failures)

    def login_all(self, phase, people, config_dir, tolerate=False, since=None):
        args = lambda person: ["--tenant", person[2], "--allow-no-subscriptions"]  # noqa: E731
        children = self.all_at_once(phase, people, lambda person: ["login", "--use-device-code", *args(person)],
                                    config_dir)
        self.approve_codes(people, children)
        return self.finish(phase, people, children, tolerate=tolerate, since=since,
                           retry=lambda person: self.tools.device_code_login("az", person[1], args(person)))

    @staticmethod
    def profile(config_dir):
        with open(os.path.join(config_dir, "azureProfile.json"), "rb") as file:
            raw = file.read()
        if not raw.startswith(b"\xef\xbb\xbf"):
            raise Failure(f"{config_dir}/azureProfile.json lost its BOM")
        return json.loads(raw[3:])

    @staticmethod
    def cache(config_dir):
        with open(os.path.join(config_dir, "msal_token_cache.json")) as file:
            return json.load(file)

    def az_lock_failures(self, since, until=float("inf")):
        """az's trace between `since` and `until`: (how many az writers went on without the lock file or found
        the file torn inside it, the keys az's writes dropped while its lock had held until then)."""
        broken, dropped_intact = 0, set()
        if os.path.exists(self.trace):
            with open(self.trace) as file:
                for event in map(json.loads, file):
                    if not since <= event["time"] < until:
                        continue
                    broken += event["event"] in ("stale_lock", "torn_under_lock")
                    if event["event"] == "dropped" and not broken:
                        dropped_intact.update(event["keys"])
        return broken, dropped_intact

    def az_lock_overlaps(self, phase, since):
        """Fail when two az processes held the token cache's lock at the same time although none had given up on
        the lock file before: only another writer breaking the protocol lets that happen (an earlier aksctl that
        locked lock files it had not created did)."""
        if not os.path.exists(self.trace):
            return
        with open(self.trace) as file:
            events = sorted((event for event in map(json.loads, file) if event["time"] >= since),
                            key=lambda event: event["time"])
        holders, broken, overlaps = {}, False, []
        for event in events:
            lock = event.get("lock", "").removesuffix(".lockfile")
            if event["event"] == "stale_lock":
                broken = True
            elif event["event"] == "lock" and lock.endswith("msal_token_cache.json"):
                if holders.get(lock) and not broken:
                    overlaps.append(f"az {event['pid']} took the lock at {event['time']:.3f} while az "
                                    f"{holders[lock]} held it")
                holders[lock] = event["pid"]
            elif event["event"] == "unlock" and holders.get(lock) == event["pid"]:
                del holders[lock]
        if overlaps:
            raise Failure(f"{phase}: two az writers inside the token cache's lock at once, with no writer "
                          f"having given up on the lock file:\n" + "\n".join(overlaps))

    def ours_lost(self, phase, since, lost_people, lost_lines):
        """Fail on aksctl logins lost while az's lock held, or dropped by an az save before it first failed (az
        kept a copy older than an aksctl write it should have seen: the write's mtime); return the evidence line
        for losses az's failing lock explains."""
        ours = [person for person in lost_people if person[0] == "aksctl"]
        broken, dropped_intact = self.az_lock_failures(since)
        unexplained = [person for person in ours if not broken or person[1] in dropped_intact
                       or f"{person[3]}.{person[2]}" in dropped_intact]
        if unexplained:
            lines = [line for line in lost_lines if any(person[1] in line for person in unexplained)]
            raise Failure(f"{phase}: the token cache lost {len(unexplained)} aksctl logins while az's lock held "
                          f"({broken} az writers went on without it or found the file torn; az saves with the "
                          f"lock intact dropped {sorted(dropped_intact)}):\n" + "\n".join(lines))
        if not ours:
            return ""
        return (f" ({len(ours)} aksctl logins lost after az's lock failed: {broken} az writers went on without "
                f"the lock file or found the file torn inside it)")

    def lost(self, config_dir, people, scopes):
        """What the MSAL cache lacks of `people`: account, refresh token, an access token per scope."""
        cache = self.cache(config_dir)
        accounts = {entry["username"] for entry in cache.get("Account", {}).values()}
        refresh = {entry["home_account_id"] for entry in cache.get("RefreshToken", {}).values()}
        lost = []
        for who, user, tenant, oid in people:
            if user not in accounts:
                lost.append(f"MSAL account of {user} ({who})")
            if f"{oid}.{tenant}" not in refresh:
                lost.append(f"refresh token of {user} ({who})")
            targets = [entry["target"].lower() for entry in cache.get("AccessToken", {}).values()
                       if entry["home_account_id"] == f"{oid}.{tenant}"]
            for scope in scopes:
                if not any(scope.lower() in target for target in targets):
                    lost.append(f"access token of {user} ({who}) for {scope} (has {targets})")
        return lost

    @staticmethod
    def check_token(who, person, text):
        token = claims(json.loads(text)["accessToken"])
        if (token.get("oid"), token.get("tid")) != (person[3], person[2]):
            raise Failure(f"{who} served {person[1]} a token for oid/tid {token.get('oid')}/{token.get('tid')}")

    def run(self):
        each = self.args.each
        mixed, alone, az_alone = self.people[:2 * each], self.people[2 * each:3 * each], self.people[3 * each:]
        arm = "https://management.core.windows.net//.default"
        # aksctl alone: its writers lock the profile as well as the token cache, so nothing is lost anywhere.
        solo_dir = os.path.join(self.tools.work, "aksctl-only-azure")
        started = time.monotonic()
        self.login_all("solo", alone, solo_dir)  # no az: no retries
        solo_time = time.monotonic() - started
        entries = {(entry["id"], entry["user"]["name"]) for entry in self.profile(solo_dir)["subscriptions"]}
        lost = [f"profile entry of {user}" for _, user, tenant, _ in alone if (tenant, user) not in entries]
        lost += self.lost(solo_dir, alone, [arm])
        if lost:
            raise Failure(f"{len(alone)} aksctl logins at once lost:\n" + "\n".join(lost))

        # az alone, for comparison: what az's own writers do to each other (reported, not asserted).
        az_dir = os.path.join(self.tools.work, "az-only-azure")
        os.makedirs(az_dir, exist_ok=True)
        shutil.copy(os.path.join(self.tools.az_env["AZURE_CONFIG_DIR"], "versionCheck.json"), az_dir)
        for argv in (["cloud", "register", "-n", "Local", "--endpoint-resource-manager",
                      self.cloud.ready["resource_manager"]], ["cloud", "set", "-n", "Local"]):
            self.tools.run([self.tools.az_binary, *argv], dict(self.tools.az_env, AZURE_CONFIG_DIR=az_dir))
        az_since = time.time()
        _, az_failed = self.login_all("az-solo", az_alone, az_dir, tolerate=True)
        az_broken = self.az_lock_failures(az_since, time.time())[0]
        az_lost = self.lost(az_dir, az_alone, [])
        self.profile(az_dir)

        # az and aksctl together on one directory.
        config_dir = self.tools.az_env["AZURE_CONFIG_DIR"]
        started, since = time.monotonic(), time.time()
        printed, login_retried = self.login_all("login", mixed, config_dir, since=since)
        mixed_time = time.monotonic() - started
        self.profile(config_dir)
        # msal-extensions writes in place and reads without the lock (see finish): an az that read a truncated
        # file writes back a cache without the entries written before; those people sign in again, alone.
        self.az_lock_overlaps(f"{each} az + {each} aksctl logins", since)
        mixed_lost = self.lost(config_dir, mixed, [arm])
        gone = [person for person in mixed if any(person[1] in line for line in mixed_lost)]
        login_evidence = self.ours_lost(f"{each} az + {each} aksctl logins", since, gone, mixed_lost)
        for person in gone:
            args = ["--tenant", person[2], "--allow-no-subscriptions"]
            output = self.tools.device_code_login(person[0], person[1], args)
            if output.returncode != 0:
                raise Failure(f"{person[0]} login again as {person[1]}: {output.stderr}")
        # az rewrites azureProfile.json in place without a lock (azure-cli: azure/cli/core/_session.py), so an
        # az login racing another login can drop that login's entry; put back what each login printed.
        profile = self.profile(config_dir)
        present = {entry["id"] for entry in profile["subscriptions"]}
        dropped = [entry for text in printed if text is not None for entry in json.loads(text)
                   if entry["id"] not in present]
        self.restore(config_dir, profile, dropped)

        token_argv = lambda person: [  # noqa: E731
            "account", "get-access-token", "-s", person[2], "--scope", f"{SERVER_ID}/.default"]
        since = time.time()
        children = self.all_at_once("token", mixed, token_argv, config_dir)
        outputs, token_retried = self.finish("token", mixed, children, since=since,
                                             retry=lambda person: self.tools.tool("az", token_argv(person)))
        for output, person in zip(outputs, mixed):
            if output is not None:
                self.check_token(person[0], person, output)
        self.az_lock_overlaps(f"{2 * each} get-access-token", since)
        token_lost = self.lost(config_dir, mixed, [f"{SERVER_ID}/.default"])
        token_evidence = self.ours_lost(f"{2 * each} get-access-token", since,
                                        [person for person in mixed if any(person[1] in line for line in token_lost)],
                                        token_lost)
        self.profile(config_dir)
        # Both tools still work on the files the writers left: each serves a few people from them (people whose
        # login the cache still holds).
        kept = [person for person in mixed if not self.lost(config_dir, [person], [])]
        if not {"az", "aksctl"} <= {person[0] for person in kept}:
            # az's failing lock left nobody of one tool (or nobody at all): one person of each signs in again.
            kept = mixed[:2]
            for person in kept:
                again = self.tools.device_code_login(person[0], person[1],
                                                     ["--tenant", person[2], "--allow-no-subscriptions"])
                if again.returncode != 0:
                    raise Failure(f"{person[0]} login again as {person[1]}: {again.stderr}")
        for person in random.Random(0).sample(kept, min(4, len(kept))):
            for who in ("az", "aksctl"):
                output = self.tools.tool(who, ["account", "get-access-token", "-s", person[2]])
                if output.returncode != 0:
                    raise Failure(f"{who} get-access-token -s {person[2]} afterwards: {output.stderr}")
                self.check_token(who, person, output.stdout)
        by_tool = lambda people: {who: sum(1 for person in people if person[0] == who) for who in ("az", "aksctl")}  # noqa: E731
        print(f"shared cache writers ({each} per tool):\n"
              f"- {each} aksctl logins at once ({solo_time:.0f} s): nothing lost (profile and token cache)\n"
              f"- {each} az logins at once (for comparison): {az_failed} failed, token cache lost "
              f"{len(az_lost)} entries; {az_broken} az writers went on without the lock file or found the file "
              f"torn inside it\n"
              f"- {each} az + {each} aksctl logins at once ({mixed_time:.0f} s): both files valid JSON (profile "
              f"with its BOM); {login_retried} az logins lost sight of their own login and ran again; the token "
              f"cache lost the logins of {by_tool(gone)}{login_evidence} (signed in again, alone); az's unlocked "
              f"profile rewrite "
              f"dropped {len(dropped)} profile entries (put back)\n"
              f"- then {2 * each} get-access-token at once: all served their own person ({token_retried} az ran "
              f"again), token cache lost {len(token_lost)} of the new access tokens{token_evidence}; both tools still "
              f"work")
        if token_lost:
            print("  lost: " + "; ".join(token_lost))

    @staticmethod
    def restore(config_dir, profile, dropped):
        for entry in dropped:
            entry = {key: value for key, value in entry.items() if key != "cloudName"}
            profile["subscriptions"].append(dict(entry, isDefault=False, environmentName="Local"))
        with open(os.path.join(config_dir, "azureProfile.json"), "w", encoding="utf-8-sig") as file:
            json.dump(profile, file)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("proof", choices=["cycles", "writers"])
    parser.add_argument("ready")
    parser.add_argument("aksctl")
    parser.add_argument("az")
    parser.add_argument("work")
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--az-share", type=float, default=0.1)
    parser.add_argument("--each", type=int, default=20)
    args = parser.parse_args()
    with open(args.ready) as file:
        cloud = Cloud(json.loads(file.readline()))
    tools = Tools(args, cloud, args.work)
    rm_url = cloud.ready["resource_manager"]
    for who, argv in (("az", ["cloud", "register", "-n", "Local", "--endpoint-resource-manager", rm_url]),
                      ("az", ["cloud", "set", "-n", "Local"]),
                      ("aksctl", ["cloud", "register", "--name", "Local", "--endpoint-resource-manager", rm_url]),
                      ("aksctl", ["cloud", "set", "--name", "Local"])):
        output = tools.tool(who, argv)
        if output.returncode != 0:
            raise SystemExit(f"{who} {argv} failed: {output.stderr}")
    if args.proof == "writers":
        try:
            Writers(args, cloud, tools).run()
        except Failure as error:
            raise SystemExit(f"shared cache writers FAILED:\n{error}")
        return
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    print(f"identity cycles: seed {args.seed}", file=sys.stderr)
    Cycles(args, cloud, tools).run()


if __name__ == "__main__":
    main()
