"""Generate tests/fixtures/clouds/az-cloud-register-goldens.json: the `clouds.config` keys az 2.91 writes for
`az cloud register -n Local --endpoint-resource-manager URL`, for a set of `metadata/endpoints` answers.

az maps the answer with `_arm_to_cli_mapper` (Azure/azure-cli: `src/azure-cli-core/azure/cli/core/cloud.py`),
which fills some endpoints and suffixes the answer lacks from its built-in cloud of the same `name`
(`_get_endpoint_fallback_value`, `_get_suffix_fallback_value` over `HARD_CODED_CLOUD_LIST`) and derives the
database suffixes; `register_cloud` (`command_modules/cloud/custom.py`, `_build_cloud`) names the section and
keeps the flag's resource manager; `_config_add_cloud` writes every key with a value. This script runs exactly
that code, with the answer handed to `_populate_from_metadata_endpoint` instead of fetched, so it needs no
network. aksctl's `keys_from_metadata` (crates/aks-identity/src/azure_cli/clouds.rs) must give the same keys, in
the same order, for every case; its unit test compares them. `scripts/check-generated.sh` regenerates the file
(inside `unshare -n`) and fails when it differs:

    unshare -n target/az-venv/bin/python scripts/gen-cloud-goldens.py
"""

import configparser
import copy
import json
import os

from azure.cli.command_modules.cloud import custom
from azure.cli.core.cloud import HARD_CODED_CLOUD_LIST, _config_add_cloud

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "tests", "fixtures", "clouds", "az-cloud-register-goldens.json")
URL = "https://127.0.0.1:34891/"

# What the emulator answers (every field it has), and the least an answer can hold.
FULL = {
    "name": "LocalEmulator", "resourceManager": URL,
    "authentication": {"loginEndpoint": URL, "audiences": ["https://management.core.windows.net/",
                                                          "https://management.azure.com/"],
                       "tenant": "common", "identityProvider": "AAD"},
    "microsoftGraphResourceId": URL, "graph": URL, "graphAudience": URL, "portal": URL, "gallery": URL,
    "media": URL, "batch": URL, "sqlManagement": URL,
    "vmImageAliasDoc": URL + "_emulator/vm-image-aliases.json", "activeDirectoryDataLake": URL,
    "suffixes": {"storage": "core.emulator.local", "keyVaultDns": ".vault.emulator.local",
                 "sqlServerHostname": ".database.emulator.local", "acrLoginServer": ".azurecr.emulator.local",
                 "azureDataLakeStoreFileSystem": "azuredatalakestore.emulator.local",
                 "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.emulator.local"},
}
BARE = {"name": "LocalEmulator", "resourceManager": URL,
        "authentication": {"loginEndpoint": URL, "audiences": [URL]}, "suffixes": {}}
# Fields az has fallbacks for, given by the answer itself (the answer wins; a suffix gets its dot).
OWN = {"appInsightsResourceId": URL + "insights", "logAnalyticsResourceId": URL + "logs",
       "ossrdbmsResourceId": URL + "ossrdbms", "synapseAnalyticsResourceId": URL + "synapse"}
OWN_SUFFIXES = {"mhsmDns": "managedhsm.emulator.local", "attestationEndpoint": "attest.emulator.local",
                "storageSyncEndpointSuffix": "afs.emulator.local"}


class Answer:
    """What `requests.Session` gives `_populate_from_metadata_endpoint`: one 200 with the metadata."""

    def __init__(self, metadata):
        self.metadata = metadata
        self.status_code = 200

    def get(self, _url):
        return self

    def json(self):
        return copy.deepcopy(self.metadata)


def registered(metadata):
    """The (key, value) pairs of the section `az cloud register -n Local --endpoint-resource-manager URL` writes."""
    populate = custom._populate_from_metadata_endpoint
    custom._populate_from_metadata_endpoint = lambda endpoint: populate(endpoint, session=Answer(metadata))
    try:
        cloud = custom._build_cloud(None, "Local", cloud_args={"endpoint_resource_manager": URL})
    finally:
        custom._populate_from_metadata_endpoint = populate
    config = configparser.ConfigParser()
    _config_add_cloud(config, cloud)
    return [[key, value] for key, value in config.items("Local")]


def cases():
    names = ["LocalEmulator"] + [cloud.name for cloud in HARD_CODED_CLOUD_LIST]
    for name in names:
        for shape, base in (("full", FULL), ("bare", BARE)):
            yield f"{shape} answer named {name}", dict(base, name=name)
    for name in ("AzureCloud", "AzureUSGovernment"):
        own = dict(BARE, name=name, **OWN, suffixes=dict(OWN_SUFFIXES))
        yield f"bare answer named {name} with its own values for the fallback fields", own


def main():
    output = [{"name": name, "metadata": metadata, "keys": registered(metadata)} for name, metadata in cases()]
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w") as file:
        json.dump(output, file, indent=1)
        file.write("\n")
    print(f"{len(output)} cases written to {OUTPUT}")


if __name__ == "__main__":
    main()
