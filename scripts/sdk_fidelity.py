"""The official Azure Python SDK against the aksctl emulator. Called by scripts/sdk-fidelity.sh inside `unshare -n`."""
import base64
import json
import sys

from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
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

# Azure RBAC (azure-mgmt-authorization): the Cluster User Role looked up by name, assigned to the admin group on
# the cluster, found by the list filters az uses, refused a second time under another name, deleted (docs/azure-rbac.md).
authorization = AuthorizationManagementClient(credential, subscription, base_url=base_url, credential_scopes=scopes)
cluster_scope = f"/subscriptions/{subscription}/resourceGroups/sdkrg/providers/Microsoft.ContainerService/managedClusters/sdk1"
user_role = "Azure Kubernetes Service Cluster User Role"
roles = list(authorization.role_definitions.list(cluster_scope, filter=f"roleName eq '{user_role}'"))
check([r.name for r in roles] == ["4abbcc35-e782-43d8-92c5-2d3f1bd2253f"], f"role definition by name: {roles}")
check(roles[0].role_type == "BuiltInRole" and roles[0].assignable_scopes == ["/"], "role definition fields")
check(roles[0].id == f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{roles[0].name}", "role definition id")
name = "5d6c0f4e-3a51-4a4e-9a7d-0c2b9f1e8a11"
parameters = RoleAssignmentCreateParameters(role_definition_id=roles[0].id, principal_id=group, principal_type="Group")
assignment = authorization.role_assignments.create(cluster_scope, name, parameters)
check(assignment.scope == cluster_scope and assignment.principal_type == "Group", f"assignment: {assignment}")
check(assignment.id == f"{cluster_scope}/providers/Microsoft.Authorization/roleAssignments/{name}", "assignment id")
at_scope = [a.name for a in authorization.role_assignments.list_for_scope(cluster_scope, filter="atScope()")]
check(name in at_scope and len(at_scope) > 1, f"atScope() at the cluster (inherited ones too): {at_scope}")
mine = [a.name for a in authorization.role_assignments.list_for_subscription(filter=f"principalId eq '{group}'")]
check(mine == [name], f"principalId eq: {mine}")
check(authorization.role_assignments.get_by_id(assignment.id).role_definition_id == roles[0].id, "get by id")
try:
    authorization.role_assignments.create(cluster_scope, "6d6c0f4e-3a51-4a4e-9a7d-0c2b9f1e8a12", parameters)
    check(False, "a second assignment of the same role was accepted")
except HttpResponseError as error:
    check(error.status_code == 409 and error.error.code == "RoleAssignmentExists", f"conflict: {error}")
check(authorization.role_assignments.delete(cluster_scope, name).name == name, "delete answers the assignment")
check(authorization.role_assignments.delete(cluster_scope, name) is None, "delete again: 204")

got = clusters.managed_clusters.get("sdkrg", "sdk1")
check(got.name == "sdk1" and got.dns_prefix == "sdk1", "get")
check([c.name for c in clusters.managed_clusters.list()] == ["sdk1"], "list")
check([c.name for c in clusters.managed_clusters.list_by_resource_group("sdkrg")] == ["sdk1"], "list by group")
clusters.managed_clusters.begin_delete("sdkrg", "sdk1").result()
check([c.name for c in clusters.managed_clusters.list()] == [], "deleted")
print(f"sdk fidelity: ok ({checks} checks)")
