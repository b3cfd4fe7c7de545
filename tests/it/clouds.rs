//! `aksctl cloud register|set|unregister` keep az's own files in step (`clouds.config` sections with az's keys,
//! `config` `[cloud] name`), so az and aksctl agree which cloud's logins count. The section written for the
//! emulator is the one the real az 2.91 writes for it (checked against az itself in scripts/az-conformance.sh).

use std::fs;
use std::path::PathBuf;

use aks_test_support::TestCloud;

use crate::{cloud, stderr};

fn azure_file(cloud: &TestCloud, name: &str) -> PathBuf {
    cloud.home().join(".azure").join(name)
}

fn read(cloud: &TestCloud, name: &str) -> String {
    fs::read_to_string(azure_file(cloud, name)).unwrap_or_default()
}

#[test]
fn register_and_set_write_the_cloud_and_the_active_cloud_for_az() {
    // The harness ran `aksctl cloud register --name Emulator --endpoint-resource-manager <arm>` and `cloud set`.
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let arm = &ready.resource_manager;
    let clouds = read(&cloud, "clouds.config");
    let mut expected = format!(
        "[Emulator]
endpoint_active_directory = {arm}
endpoint_active_directory_data_lake_resource_id = {arm}
endpoint_active_directory_graph_resource_id = {arm}
endpoint_active_directory_resource_id = https://management.core.windows.net/
endpoint_batch_resource_id = {arm}
endpoint_gallery = {arm}
endpoint_management = https://management.core.windows.net/
endpoint_media_resource_id = {arm}
endpoint_microsoft_graph_resource_id = {arm}
endpoint_portal = {arm}
endpoint_resource_manager = {arm}
endpoint_sql_management = {arm}
endpoint_vm_image_alias_doc = {arm}_emulator/vm-image-aliases.json
suffix_acr_login_server_endpoint = .azurecr.emulator.local
suffix_azure_datalake_analytics_catalog_and_job_endpoint = azuredatalakeanalytics.emulator.local
suffix_azure_datalake_store_file_system_endpoint = azuredatalakestore.emulator.local
suffix_keyvault_dns = .vault.emulator.local
suffix_mariadb_server_endpoint = .mariadb.database.emulator.local
suffix_mysql_server_endpoint = .mysql.database.emulator.local
suffix_postgresql_server_endpoint = .postgres.database.emulator.local
suffix_sql_server_hostname = .database.emulator.local
suffix_storage_endpoint = core.emulator.local
"
    );
    assert_eq!(clouds, expected);
    assert_eq!(read(&cloud, "config"), "[cloud]\nname = Emulator\n");

    // Another cloud from flags: only the keys given, as az writes them. Other settings of `config` survive a switch.
    fs::write(
        azure_file(&cloud, "config"),
        "[core]\noutput = table\n\n[cloud]\nname = Emulator\n",
    )
    .unwrap();
    let register = cloud.run(&[
        "cloud",
        "register",
        "--name",
        "Other",
        "--endpoint-resource-manager",
        "https://arm.other.example/",
        "--skip-endpoint-discovery",
        "--endpoint-active-directory",
        "https://login.other.example",
        "--endpoint-active-directory-resource-id",
        "https://management.other.example/",
    ]);
    assert!(register.status.success(), "{}", stderr(&register));
    expected.push_str(
        "
[Other]
endpoint_active_directory = https://login.other.example
endpoint_active_directory_resource_id = https://management.other.example/
endpoint_resource_manager = https://arm.other.example/
",
    );
    assert_eq!(read(&cloud, "clouds.config"), expected);
    let set = cloud.run(&["cloud", "set", "--name", "Other"]);
    assert!(set.status.success(), "{}", stderr(&set));
    assert_eq!(
        read(&cloud, "config"),
        "[core]\noutput = table\n\n[cloud]\nname = Other\n"
    );
    let set = cloud.run(&["cloud", "set", "--name", "AzureCloud"]);
    assert!(set.status.success(), "{}", stderr(&set));
    assert_eq!(
        read(&cloud, "config"),
        "[core]\noutput = table\n\n[cloud]\nname = AzureCloud\n"
    );

    // Unregister removes az's section too, and nothing else.
    let unregister = cloud.run(&["cloud", "unregister", "--name", "Other"]);
    assert!(unregister.status.success(), "{}", stderr(&unregister));
    assert_eq!(
        read(&cloud, "clouds.config"),
        expected.split("\n[Other]").next().unwrap()
    );
}

#[test]
fn unregister_keeps_the_section_az_still_uses_and_set_registers_a_cloud_az_lacks() {
    let cloud = cloud();
    // A cloud aksctl registered before it wrote az's files: `cloud set` gives az the endpoints aksctl knows.
    fs::remove_file(azure_file(&cloud, "clouds.config")).unwrap();
    let set = cloud.run(&["cloud", "set", "--name", "Emulator"]);
    assert!(set.status.success(), "{}", stderr(&set));
    let arm = &cloud.ready().resource_manager;
    let authority = &cloud.ready().authority_host;
    assert_eq!(
        read(&cloud, "clouds.config"),
        format!(
            "[Emulator]
endpoint_active_directory = {authority}
endpoint_active_directory_resource_id = https://management.core.windows.net/
endpoint_management = https://management.core.windows.net/
endpoint_microsoft_graph_resource_id = {arm}
endpoint_resource_manager = {arm}
"
        )
    );

    // aksctl moves to another cloud but az still uses the emulator: az's section stays, and aksctl says so.
    let mut switch = cloud.std_command();
    switch
        .args(["cloud", "set", "--name", "AzureCloud"])
        .env("AZURE_CLOUD_NAME", "Emulator");
    assert!(switch.output().unwrap().status.success());
    let mut unregister = cloud.std_command();
    unregister
        .args(["cloud", "unregister", "--name", "Emulator"])
        .env("AZURE_CLOUD_NAME", "Emulator");
    let output = unregister.output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "The cloud 'Emulator' is az's active cloud: it stays registered with az; run `az cloud set` to another cloud, then `az cloud unregister --name Emulator`."
        ),
        "{}",
        stderr(&output)
    );
    assert!(read(&cloud, "clouds.config").starts_with("[Emulator]\n"));
}

/// `azureProfile.json` of the sandbox, parsed (after az's BOM).
fn profile(cloud: &TestCloud) -> serde_json::Value {
    let bytes = fs::read(azure_file(cloud, "azureProfile.json")).unwrap();
    serde_json::from_slice(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap()).unwrap()
}

/// The ids of the entries marked default.
fn defaults(cloud: &TestCloud) -> Vec<String> {
    profile(cloud)["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["isDefault"] == true)
        .map(|entry| entry["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn set_switches_the_default_subscription_to_the_clouds_own_as_az_does() {
    let cloud = cloud();
    let login = crate::login::login_service_principal(&cloud);
    let chosen = login.as_array().unwrap().last().unwrap().clone();
    let (id, name) = (
        chosen["id"].as_str().unwrap(),
        chosen["name"].as_str().unwrap(),
    );
    let set = crate::login::person(&cloud, &["account", "set", "-s", id]);
    assert!(set.status.success(), "{}", stderr(&set));

    // A cloud nobody is logged in to: az's advice, the emulator's entries untouched.
    let away = cloud.run(&["cloud", "set", "--name", "AzureCloud"]);
    assert!(away.status.success(), "{}", stderr(&away));
    let said = stderr(&away);
    for line in [
        "Switched active cloud to 'AzureCloud'.",
        "Use 'az login' to log in to this cloud.",
        "Use 'az account set' to set the active subscription.",
    ] {
        assert!(said.contains(line), "{said}");
    }
    assert_eq!(defaults(&cloud), [id]);

    // Something else moved the default meanwhile (a login elsewhere): back in the emulator's cloud, the
    // subscription recorded for it in clouds.config is the default again.
    let mut edited = profile(&cloud);
    for entry in edited["subscriptions"].as_array_mut().unwrap() {
        entry["isDefault"] = serde_json::Value::Bool(false);
    }
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(serde_json::to_vec(&edited).unwrap());
    fs::write(azure_file(&cloud, "azureProfile.json"), bytes).unwrap();
    let back = cloud.run(&["cloud", "set", "--name", "Emulator"]);
    assert!(back.status.success(), "{}", stderr(&back));
    let said = stderr(&back);
    assert!(
        said.contains("Switched active cloud to 'Emulator'."),
        "{said}"
    );
    assert!(
        said.contains(&format!("Active subscription switched to '{name} ({id})'.")),
        "{said}"
    );
    assert_eq!(defaults(&cloud), [id]);
    let shown = crate::login::person(&cloud, &["account", "show"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["id"], id);

    // Already the active cloud: az does nothing and says nothing.
    let again = cloud.run(&["cloud", "set", "--name", "Emulator"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stderr(&again), "");
}

#[test]
fn kubelogin_azurecli_signs_in_at_the_authority_of_azs_active_registered_cloud() {
    // No --environment, no AZURE_AUTHORITY_HOST: az's active cloud is the registered emulator cloud, whose
    // `endpoint_active_directory` is the authority, as the real kubelogin gets its token from az.
    let cloud = cloud();
    crate::login::login_service_principal(&cloud);
    let get_token = |extra: &[&str]| {
        let mut command = cloud.std_command();
        command
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_AUTHORITY_HOST")
            .env_remove("AZURE_ENVIRONMENT")
            .env("PATH", "/usr/bin:/bin")
            // Anything not for 127.0.0.1 (the public authority, were az's cloud ignored) goes nowhere.
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .args([
                "kubelogin",
                "get-token",
                "-l",
                "azurecli",
                "--server-id",
                crate::kubelogin::SERVER_ID,
            ])
            .args(extra);
        command.output().unwrap()
    };
    // An explicit environment still wins: the public cloud's authority, unreachable here.
    let public = get_token(&["--environment", "AzurePublicCloud"]);
    assert_eq!(public.status.code(), Some(1), "{}", stderr(&public));
    let output = get_token(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let credential: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let claims = crate::kubelogin::claims(&credential);
    assert_eq!(claims["tid"], cloud.ready().tenant_id.as_str());
}
