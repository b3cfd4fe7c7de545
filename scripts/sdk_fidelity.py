"""The official Azure Python SDK against the aksctl emulator. Called by scripts/sdk-fidelity.sh inside `unshare -n`."""
import base64
import json
import sys

from azure.identity import ClientSecretCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import (
    ManagedCluster,
    ManagedClusterAADProfile,
    ManagedClusterAgentPoolProfile,
    ManagedClusterIdentity,
)
from azure.mgmt.resource.resources import ResourceManagementClient

ready = json.loads(sys.argv[1])
tenant, subscription, group = ready["tenant_id"], ready["subscription_id"], ready["admin_group_id"]
credential = ClientSecretCredential(
    tenant, ready["client_id"], ready["client_secret"],
    authority=ready["authority_host"], disable_instance_discovery=True,
)
base_url = ready["resource_manager"]
scopes = ["https://management.core.windows.net//.default"]
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise SystemExit(f"sdk fidelity FAILED: {what}")
    checks += 1


resources = ResourceManagementClient(credential, subscription, base_url=base_url, credential_scopes=scopes)
rg = resources.resource_groups.create_or_update("sdkrg", {"location": "eastus"})
check(rg.name == "sdkrg" and rg.properties.provisioning_state == "Succeeded", f"resource group: {rg}")

clusters = ContainerServiceClient(credential, subscription, base_url=base_url, credential_scopes=scopes)
body = ManagedCluster(
    location="eastus",
    dns_prefix="sdk1",
    enable_rbac=True,
    identity=ManagedClusterIdentity(type="SystemAssigned"),
    aad_profile=ManagedClusterAADProfile(managed=True, admin_group_object_i_ds=[group]),
    agent_pool_profiles=[ManagedClusterAgentPoolProfile(name="nodepool1", count=1, vm_size="Standard_DS2_v2", mode="System", os_type="Linux")],
)
created = clusters.managed_clusters.begin_create_or_update("sdkrg", "sdk1", body).result()
check(created.provisioning_state == "Succeeded", f"create LRO result: {created.provisioning_state}")
check(created.aad_profile.managed is True, "aadProfile.managed")
check(created.aad_profile.admin_group_object_i_ds == [group], "adminGroupObjectIDs")
check(created.aad_profile.tenant_id == tenant, "tenantID defaults to the subscription tenant")
check(created.fqdn and created.fqdn.endswith(".hcp.eastus.azmk8s.io"), f"fqdn {created.fqdn}")
check(created.identity_profile["kubeletidentity"].client_id, "kubelet identity")

for fmt, marker in (("exec", "kubelogin"), ("azure", "auth-provider")):
    result = clusters.managed_clusters.list_cluster_user_credentials("sdkrg", "sdk1", format=fmt)
    text = result.kubeconfigs[0].value.decode("utf-8")
    check(result.kubeconfigs[0].name == "clusterUser", "credential name")
    check(marker in text and "server: https://127.0.0.1:" in text, f"{fmt} kubeconfig: {text[:200]}")
admin = clusters.managed_clusters.list_cluster_admin_credentials("sdkrg", "sdk1", server_fqdn="public")
check("client-certificate-data" in admin.kubeconfigs[0].value.decode("utf-8"), "admin kubeconfig")

got = clusters.managed_clusters.get("sdkrg", "sdk1")
check(got.name == "sdk1" and got.dns_prefix == "sdk1", "get")
check([c.name for c in clusters.managed_clusters.list()] == ["sdk1"], "list")
check([c.name for c in clusters.managed_clusters.list_by_resource_group("sdkrg")] == ["sdk1"], "list by group")
clusters.managed_clusters.begin_delete("sdkrg", "sdk1").result()
check([c.name for c in clusters.managed_clusters.list()] == [], "deleted")
print(f"sdk fidelity: ok ({checks} checks)")
