"""Generate tests/fixtures/table/knack-goldens.json: what az 2.91's `-o table` prints for aksctl's results.

az formats `-o table` with knack's `format_table` (microsoft/knack: knack/output.py): the command's table
transformer when it has one and no `--query` is given, else knack's automatic table (`_TableOutput`), rendered
by tabulate. This script runs the real knack and tabulate with the real transformers of the az commands aksctl
mirrors (azure-cli: `acs/_format.py` `aks_show_table_format`/`aks_list_table_format`, `resource/commands.py`
`transform_resource_group_list`, `profile/_format.py` `transform_account_list`) on a corpus of results shaped like
aksctl's, and records the text. aksctl's renderer (crates/aks-cli/src/output/table.rs) must reproduce every case
byte for byte.

Each case is `{"name", "layout", "queried", "value", "table"}`: `layout` is aksctl's `TableLayout` (`Auto` for a
command without a transformer), `queried` says a `--query` shaped the value (no transformer, keys not sorted).

Run with az's own Python (target/az-venv is where scripts/az-conformance.sh installs az 2.91). Needs no network:

    unshare -n target/az-venv/bin/python scripts/gen-table-goldens.py
"""

import json
import os
from collections import OrderedDict

from knack.output import CommandResultItem, format_table
from azure.cli.command_modules.acs._format import aks_list_table_format, aks_show_table_format
from azure.cli.command_modules.profile._format import transform_account_list
from azure.cli.command_modules.resource.commands import transform_resource_group_list

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "tests", "fixtures", "table", "knack-goldens.json")
AKS_GET = os.path.join(ROOT, "tests", "fixtures", "arm-examples", "ManagedClustersGet.json")

TRANSFORMERS = {
    "Auto": None,
    "ResourceGroup": transform_resource_group_list,
    "Subscription": transform_account_list,
}

SUB = "00000000-0000-0000-0000-000000000001"
TENANT = "00000000-0000-0000-0000-000000000002"
GROUP = {
    "id": f"/subscriptions/{SUB}/resourceGroups/rg1",
    "location": "centralus",
    "managedBy": None,
    "name": "rg1",
    "properties": {"provisioningState": "Succeeded"},
    "tags": None,
    "type": "Microsoft.Resources/resourceGroups",
}
ACCOUNT = {
    "cloudName": "AzureCloud",
    "homeTenantId": TENANT,
    "id": SUB,
    "isDefault": True,
    "managedByTenants": [],
    "name": "Pay-As-You-Go",
    "state": "Enabled",
    "tenantId": TENANT,
    "user": {"name": "app", "type": "servicePrincipal"},
}
AD_GROUP = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups/$entity",
    "classification": None,
    "createdDateTime": "2026-12-06T21:00:00Z",
    "description": None,
    "displayName": "myAKSAdminGroup",
    "groupTypes": [],
    "id": "00000000-0000-0000-0000-000000000003",
    "mail": None,
    "mailEnabled": False,
    "mailNickname": "myAKSAdminGroup",
    "securityEnabled": True,
}
CLOUD = {
    "endpoints": {"resourceManager": "https://management.azure.com/"},
    "isActive": True,
    "name": "AzureCloud",
    "profile": "latest",
    "suffixes": {"keyvaultDns": ".vault.azure.net"},
}


def managed_cluster():
    """The ARM example cluster in az's output shape: properties flattened, resourceGroup added."""
    with open(AKS_GET, encoding="utf-8") as file:
        body = json.load(file)["responses"]["200"]["body"]
    view = {key: value for key, value in body.items() if key != "properties"}
    view.update(body["properties"])
    view["resourceGroup"] = "rg1"
    view["privateFqdn"] = None
    return view


def cases():
    cluster = managed_cluster()
    private = dict(cluster, fqdn=None, privateFqdn="private.hcp.eastus.azmk8s.io", name="c2")
    yield "group show", "Auto", False, GROUP
    yield "group create", "Auto", False, dict(GROUP, tags={"a": "b"}, managedBy="someone")
    yield "group list", "ResourceGroup", False, [GROUP, dict(GROUP, name="rg2", location="westus")]
    yield "group list empty", "ResourceGroup", False, []
    yield "aks show", "ManagedCluster", False, cluster
    yield "aks list", "ManagedCluster", False, [cluster, private]
    yield "aks list empty", "ManagedCluster", False, []
    yield "aks create", "Auto", False, cluster
    yield "account show", "Auto", False, ACCOUNT
    yield "account list", "Subscription", False, [ACCOUNT, dict(ACCOUNT, name="Dev", id=TENANT, isDefault=False)]
    yield "ad group show", "Auto", False, AD_GROUP
    yield "ad group list", "Auto", False, [AD_GROUP, dict(AD_GROUP, displayName="other", description="d")]
    yield "ad group member check", "Auto", False, {"value": False}
    yield "cloud list", "Auto", False, [CLOUD, dict(CLOUD, name="Local", isActive=False)]
    yield "query projection", "Auto", True, [OrderedDict([("Name", "c1"), ("RG", "rg1"), ("Location", "eastus")])]
    yield "query keeps key order", "Auto", True, OrderedDict([("zeta", 1), ("alpha", "a")])
    yield "query scalar", "Auto", True, "Succeeded"
    yield "query null", "Auto", True, None
    yield "query list of lists", "Auto", True, [["a", 1], ["b", 2, True]]
    yield "query list of scalars", "Auto", True, ["a", "b"]
    yield "mixed rows", "Auto", False, [{"n": 1, "z": "a"}, {"z": "b", "a": 2.5}]
    yield "sorted by code point", "Auto", False, {"zeta": 1, "Alpha": "x", "beta": False, "ümlaut": "ü"}
    yield "only skipped keys", "Auto", False, [{"id": "x", "type": "t", "etag": "e", "n": None}]
    yield "empty list", "Auto", False, []


def main():
    out = []
    for name, layout, queried, value in cases():
        value = json.loads(json.dumps(value))
        if layout == "ManagedCluster":
            transformer = aks_list_table_format if isinstance(value, list) else aks_show_table_format
        else:
            transformer = TRANSFORMERS[layout]
        if queried:
            value = json.loads(json.dumps(value), object_pairs_hook=OrderedDict)
        item = CommandResultItem(value, table_transformer=None if queried else transformer, is_query_active=queried)
        out.append({"name": name, "layout": layout, "queried": queried, "value": value, "table": format_table(item)})
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8") as file:
        json.dump(out, file, indent=1, ensure_ascii=False)
        file.write("\n")
    print(f"{len(out)} cases written to {OUTPUT}")


if __name__ == "__main__":
    main()
